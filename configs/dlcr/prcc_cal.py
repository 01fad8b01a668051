# DLCR (Siddiqui et al.) with CAL on PRCC: the paper's whole pipeline, set in
# ./_base_/dlcr_cal.py; this file names the dataset and its folders.
#   python tools/train.py configs/dlcr/prcc_cal.py
# PRCC: query cameras B (same clothes) and C (changed), gallery A; cc/* is the
# clothes-changing protocol the paper reports (Table 2: CAL 55.2 / DLCR 66.5
# top-1).
_base_ = ['../cal/prcc_cal.py', './_base_/dlcr_cal.py']

dataset_type = 'PRCC'
data_root = 'data/prcc'
dlcr_root = 'work_dirs/dlcr_data/prcc'

mask_provider = dict(_base_.mask_provider, cache_dir=dlcr_root + '/masks')
generation = dict(pipeline=dict(
    source=dict(data_root=data_root, mask_provider=mask_provider,
                dataset=dict(type=dataset_type, split='train')),
    prompt_builder=dict(descriptions=dlcr_root + '/descriptions.json'),
    writer=dict(out_dir=dlcr_root + '/train_k10')))
# completed here rather than merged into the base's: test_dataloader nests it
query_generation = _base_.query_generation
query_generation.source.update(
    data_root=data_root, mask_provider=mask_provider,
    dataset=dict(type=dataset_type, split='query'))
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
            dict(type=dataset_type, data_root=data_root, split='train'),
            dict(type='SyntheticDataset', data_root=dlcr_root + '/train_k10',
                 pid_mode='shared'),
        ]))
# identity losses on all 64 images; clothes classifier + CAL on the real 32
model = dict(clothes_classifier=dict(type='DLCRClothesClassifierHead'))
test_dataloader = dict(
    dataset=dict(
        _delete_=True, type='DLCRQueryVariantDataset',
        dataset=dict(type=dataset_type, data_root=data_root, split='test'),
        generation=query_generation, num_variants=6,
        pipeline=_base_.variant_test_pipeline))
test_evaluator = dict(
    _delete_=True, type='DLCRMetric', protocol='prcc',
    dist_metric='cosine', report_plain=True,
    rerankers=[dict(type='DLCRRefinementReranker', m=5, num_variants=6)])
