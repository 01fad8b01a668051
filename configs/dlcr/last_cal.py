# DLCR (Siddiqui et al.) with CAL on LaST: all of the paper's pipeline
# (generation, progressive pairing, refinement: see ./_base_/dlcr_cal.py).
#   python tools/train.py configs/dlcr/last_cal.py
# LaST: every same-identity gallery image counts (no junk).
_base_ = ['../cal/last_cal.py', './_base_/dlcr_cal.py']

dataset_type = 'LaST'
data_root = 'data/last'
eval_set = 'test'
dlcr_root = 'work_dirs/dlcr_data/last'
train_pipeline = {{_base_.train_pipeline}}
img_size = (384, 192)  # (height, width), as the CAL base

# human parser (the base's choice) with this dataset's label-map cache
mask_provider = dict(
    type='HumanParsingMaskProvider',
    model='mattmdjaga/segformer_b2_clothes', label_map='atr',
    cache_dir=dlcr_root + '/masks', batch_size=32)
generation = dict(pipeline=dict(
    source=dict(data_root=data_root, mask_provider=mask_provider,
                dataset=dict(type=dataset_type, split='train',
                             eval_set=eval_set)),
    prompt_builder=dict(descriptions=dlcr_root + '/descriptions.json'),
    writer=dict(out_dir=dlcr_root + '/train_k10')))

train_dataloader = dict(
    batch_size=64,  # 32 real + their 32 paired variants
    sampler=dict(_delete_=True, type='ProgressivePairingSampler',
                 batch_size=64, num_instances=8, interval=5,
                 num_partitions=4),
    dataset=dict(
        _delete_=True, type='ReIDConcatDataset', pipeline=train_pipeline,
        datasets=[
            dict(type=dataset_type, data_root=data_root, split='train',
                 eval_set=eval_set),
            dict(type='SyntheticDataset', data_root=dlcr_root + '/train_k10',
                 pid_mode='shared'),
        ]))
# identity losses on all 64 images; clothes classifier + CAL on the real 32
model = dict(clothes_classifier=dict(type='DLCRClothesClassifierHead'))

query_generation = dict(
    source=dict(type='DLCRSource', data_root=data_root,
                mask_provider=mask_provider,
                dataset=dict(type=dataset_type, split='query',
                             eval_set=eval_set)),
    prompt_builder=dict(type='DLCRPromptBuilder', targets='bank', seed=1,
                        descriptions=dlcr_root + '/descriptions.json'),
    generator={{_base_.query_generation.generator}},
    writer=dict(out_dir=dlcr_root + '/query_l6', img_format='jpg',
                quality=95),
    num_variants=6, seed=1, batch_size=12)
variant_test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PackReIDInputs',
         meta_keys=('pid', 'camid', 'clothes_id', 'modality', 'domain',
                    'split', 'track_id', 'sample_idx', 'img_path',
                    'variant_of', 'variant'))
]
test_dataloader = dict(
    dataset=dict(
        _delete_=True, type='DLCRQueryVariantDataset',
        dataset=dict(type=dataset_type, data_root=data_root, split='test',
                     eval_set=eval_set),
        generation=query_generation, num_variants=6,
        pipeline=variant_test_pipeline))
test_evaluator = dict(
    _delete_=True, type='DLCRMetric', protocol='last',
    dist_metric='cosine', report_plain=True,
    rerankers=[dict(type='DLCRRefinementReranker', m=5, num_variants=6)])
