# DLCR with CAL on the toy PRCC, end to end on a 2-core CPU:
# generation (toy part masks, descriptions from the rendered attributes,
# K=10 recolour inpaintings per training image), CAL with progressive pairing
# (32 real + 32 variants per batch; pool widened every N=1 epoch, the toy
# schedule being 7 epochs: all variants from epoch 3), and test-time
# refinement (l=6 recoloured query variants, m=5). DLCRMetric prints refined
# scores and the plain/* ones.
#   python tools/make_toy_data.py prcc data/toy/prcc --ids 100 --size 64x32
#   python tools/train.py configs/dlcr/toy_prcc_cal.py
# The three-seed ablation table: python -m plugins.dlcr.toy_ablation
_base_ = ['../cal/toy_prcc_cal.py']
custom_imports = dict(imports=['plugins.dlcr'], allow_failed_imports=False)

dataset_type = 'PRCC'
data_root = 'data/toy/prcc'
dlcr_root = 'work_dirs/dlcr_data/toy_prcc'
img_size = (64, 32)
train_pipeline = {{_base_.train_pipeline}}

mask_provider = dict(type='ToyWorldMaskProvider')
generation = dict(pipeline=dict(
    source=dict(type='DLCRSource', data_root=data_root,
                dataset=dict(type=dataset_type, split='train'),
                mask_provider=mask_provider),
    prompt_builder=dict(type='DLCRPromptBuilder',
                        descriptions=dlcr_root + '/descriptions.json',
                        describer=dict(type='toy'), seed=0),
    generator=dict(type='RecolorInpainter'),
    writer=dict(out_dir=dlcr_root + '/train_k10', img_format='png',
                fsync=False),
    num_variants=10, seed=0, batch_size=100))

train_dataloader = dict(
    batch_size=64,
    sampler=dict(_delete_=True, type='ProgressivePairingSampler',
                 batch_size=64, num_instances=4, interval=1,
                 num_partitions=4),
    dataset=dict(
        _delete_=True, type='ReIDConcatDataset', pipeline=train_pipeline,
        datasets=[
            dict(type=dataset_type, data_root=data_root, split='train'),
            dict(type='SyntheticDataset', data_root=dlcr_root + '/train_k10',
                 pid_mode='shared'),
        ]))
model = dict(clothes_classifier=dict(type='DLCRClothesClassifierHead'))

query_generation = dict(
    source=dict(type='DLCRSource', data_root=data_root,
                dataset=dict(type=dataset_type, split='query'),
                mask_provider=mask_provider),
    prompt_builder=dict(type='DLCRPromptBuilder',
                        descriptions=dlcr_root + '/descriptions.json',
                        targets='bank', seed=1),
    generator=dict(type='RecolorInpainter'),
    writer=dict(out_dir=dlcr_root + '/query_l6', img_format='png',
                fsync=False),
    num_variants=6, seed=1, batch_size=60)
test_dataloader = dict(
    dataset=dict(
        _delete_=True, type='DLCRQueryVariantDataset',
        dataset=dict(type=dataset_type, data_root=data_root, split='test'),
        generation=query_generation, num_variants=6,
        pipeline=[
            dict(type='LoadReIDImage'),
            dict(type='ReIDResize', size=img_size),
            dict(type='PackReIDInputs',
                 meta_keys=('pid', 'camid', 'clothes_id', 'modality',
                            'domain', 'split', 'track_id', 'sample_idx',
                            'img_path', 'variant_of', 'variant')),
        ]))
test_evaluator = dict(
    _delete_=True, type='DLCRMetric', protocol='prcc', dist_metric='cosine',
    report_plain=True,
    rerankers=[dict(type='DLCRRefinementReranker', m=5, num_variants=6)])
