# DLCR (Siddiqui et al.) with CAL on VC-Clothes: the paper's whole pipeline,
# set in ./_base_/dlcr_cal.py; this file names the dataset and its folders.
#   python tools/train.py configs/dlcr/vc_clothes_cal.py
# VC-Clothes: the paper reports the clothes-changing setting (cameras 3 and 4,
# Table 2: CAL 85.8 / DLCR 87.1 top-1).
_base_ = ['../cal/vc_clothes_cal.py', './_base_/dlcr_cal.py']

dataset_type = 'VCClothes'
data_root = 'data/vc_clothes'
mode = 'all'
dlcr_root = 'work_dirs/dlcr_data/vc_clothes'

mask_provider = dict(_base_.mask_provider, cache_dir=dlcr_root + '/masks')
generation = dict(pipeline=dict(
    source=dict(data_root=data_root, mask_provider=mask_provider,
                dataset=dict(type=dataset_type, split='train',
                             mode=mode)),
    prompt_builder=dict(descriptions=dlcr_root + '/descriptions.json'),
    writer=dict(out_dir=dlcr_root + '/train_k10')))
# completed here rather than merged into the base's: test_dataloader nests it
query_generation = _base_.query_generation
query_generation.source.update(
    data_root=data_root, mask_provider=mask_provider,
    dataset=dict(type=dataset_type, split='query', mode=mode))
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
                 mode=mode),
            dict(type='SyntheticDataset', data_root=dlcr_root + '/train_k10',
                 pid_mode='shared'),
        ]))
# identity losses on all 64 images; clothes classifier + CAL on the real 32
model = dict(clothes_classifier=dict(type='DLCRClothesClassifierHead'))
test_dataloader = dict(
    dataset=dict(
        _delete_=True, type='DLCRQueryVariantDataset',
        dataset=dict(type=dataset_type, data_root=data_root, split='test',
                     mode=mode),
        generation=query_generation, num_variants=6,
        pipeline=_base_.variant_test_pipeline))
test_evaluator = dict(
    _delete_=True, type='DLCRMetric', protocol='vc_clothes',
    dist_metric='cosine', report_plain=True,
    rerankers=[dict(type='DLCRRefinementReranker', m=5, num_variants=6)])
