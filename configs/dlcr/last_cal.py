# DLCR (Siddiqui et al.) with CAL on LaST: the paper's whole pipeline, set in
# ./_base_/dlcr_cal.py; this file names the dataset and its folders.
#   python tools/train.py configs/dlcr/last_cal.py
# LaST: every same-identity gallery image counts (no junk).
_base_ = ['../cal/last_cal.py', './_base_/dlcr_cal.py']

dataset_type = 'LaST'
data_root = 'data/last'
eval_set = 'test'
dlcr_root = 'work_dirs/dlcr_data/last'

mask_provider = dict(_base_.mask_provider, cache_dir=dlcr_root + '/masks')
generation = dict(pipeline=dict(
    source=dict(data_root=data_root, mask_provider=mask_provider,
                dataset=dict(type=dataset_type, split='train',
                             eval_set=eval_set)),
    prompt_builder=dict(descriptions=dlcr_root + '/descriptions.json'),
    writer=dict(out_dir=dlcr_root + '/train_k10')))
# completed here rather than merged into the base's: test_dataloader nests it
query_generation = _base_.query_generation
query_generation.source.update(
    data_root=data_root, mask_provider=mask_provider,
    dataset=dict(type=dataset_type, split='query', eval_set=eval_set))
query_generation.prompt_builder.descriptions = dlcr_root + '/descriptions.json'
query_generation.writer.out_dir = dlcr_root + '/query_l6'

train_dataloader = dict(
    batch_size=64,  # 32 real + their 32 paired variants
    sampler=dict(_delete_=True, type='ProgressivePairingSampler',
                 batch_size=64, num_instances=8, interval=5,
                 num_partitions=4),
    dataset=dict(
        _delete_=True, type='ReIDConcatDataset',
        pipeline=_base_.train_pipeline,
        datasets=[
            dict(type=dataset_type, data_root=data_root, split='train',
                 eval_set=eval_set),
            dict(type='SyntheticDataset', data_root=dlcr_root + '/train_k10',
                 pid_mode='shared'),
        ]))
# identity losses on all 64 images; clothes classifier + CAL on the real 32
model = dict(clothes_classifier=dict(type='DLCRClothesClassifierHead'))
test_dataloader = dict(
    dataset=dict(
        _delete_=True, type='DLCRQueryVariantDataset',
        dataset=dict(type=dataset_type, data_root=data_root, split='test',
                     eval_set=eval_set),
        generation=query_generation, num_variants=6,
        pipeline=_base_.variant_test_pipeline))
test_evaluator = dict(
    _delete_=True, type='DLCRMetric', protocol='last',
    dist_metric='cosine', report_plain=True,
    rerankers=[dict(type='DLCRRefinementReranker', m=5, num_variants=6)])
