# Generation stage: DLCR-like clothes changes with the CPU recolour inpainter.
# A config inheriting this sets `data_root` (a PRCC-layout root) and may
# override num_variants, filters or the writer.
generation = dict(
    pipeline=dict(
        # data_root comes from the config's top-level `data_root`
        source=dict(type='PRCCSource', split='train'),
        # target outfits: other clothes ids' attributes, sometimes random words
        prompt_builder=dict(type='ClothesSwapPrompt', p_random=0.25),
        generator=dict(type='RecolorInpainter'),
        filters=[
            dict(type='SizeAspectFilter', min_size=(32, 16),
                 aspect_range=(1.2, 4.0)),
            # drops variants that barely changed, and near-identical siblings
            dict(type='PHashDuplicateFilter', threshold=2, scope='unit',
                 compare_source=True),
        ],
        writer=dict(out_dir='{work_dir}/synthgen', img_format='jpg',
                    quality=95),
        num_variants=4,
        seed=0,
        batch_size=64,
    ))
