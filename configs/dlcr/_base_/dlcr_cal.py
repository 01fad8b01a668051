# DLCR (Siddiqui et al.) with CAL: everything the paper configs share. A paper
# config names its dataset and the folder of its generated data:
#   _base_ = ['./_base_/dlcr_cal.py']
#   dataset_type = 'PRCC'; data_root = 'data/prcc'; protocol = 'prcc'
#   dlcr_root = 'work_dirs/dlcr_data/prcc'  # shared by every run on PRCC
# Everything below refers to those names late (`'${name}'`), so the paper
# config, a child or --cfg-options changes them everywhere. Stages:
# 1. generate: human-parsing clothes masks, LLaVA captions -> LLaMA summaries
#    per clothes id, and K=10 SD inpaintings per training image (768x256, 50
#    steps, guidance 7.5) into <dlcr_root>/train_k10;
# 2. train: CAL on 32 real images + 32 paired variants per batch with the
#    progressive pool (N=5 epochs, 4 partitions);
# 3. query_variants: l=6 variants per query (10 steps, 384x128) into
#    <dlcr_root>/query_l6;
# 4. test: Algorithm 1 with m=5 (DLCRMetric also prints un-refined plain/*).
# Weights are read from the hub cache / local folders (local_files_only):
# download the human parser, LLaVA, LLaMA and SD-inpainting checkpoints first
# or point the model fields below at local folders.
_base_ = ['../../cal/_base_/cal.py']
custom_imports = dict(imports=['plugins.dlcr'], allow_failed_imports=False)

stages = [
    dict(name='generate', type='GenerateStage', generation_key='generation'),
    dict(name='train', type='TrainStage'),
    dict(name='query_variants', type='GenerateStage',
         generation_key='query_generation'),
    dict(name='test', type='TestStage'),
]

# ------------------------------------------------- generation components
mask_provider = dict(
    type='HumanParsingMaskProvider',
    model='mattmdjaga/segformer_b2_clothes', label_map='atr', batch_size=32,
    cache_dir='${dlcr_root}/masks')
describer = dict(
    type='vlm_llm',
    vlm=dict(model='llava-hf/llava-1.5-7b-hf', dtype='fp16', batch_size=16,
             max_new_tokens=96),
    llm=dict(model='meta-llama/Llama-2-7b-chat-hf', dtype='fp16',
             batch_size=8, max_new_tokens=96))
inpainter = dict(
    type='DiffusersInpainter',
    pretrained_model_name_or_path='runwayml/stable-diffusion-inpainting',
    height=768, width=256, num_inference_steps=50, guidance_scale=7.5,
    batch_size=10, dtype='fp16')
writer = dict(img_format='jpg', quality=95)

# ------------------------------------------------------- stage: generate
generation = dict(pipeline=dict(
    source=dict(type='DLCRSource', data_root='${data_root}',
                mask_provider='${mask_provider}',
                dataset=dict(_merge_='${dataset_args}',
                             type='${dataset_type}', split='train')),
    prompt_builder=dict(type='DLCRPromptBuilder', describer='${describer}',
                        descriptions='${dlcr_root}/descriptions.json',
                        seed=0),
    generator='${inpainter}',
    writer=dict(_merge_='${writer}', out_dir='${dlcr_root}/train_k10'),
    num_variants=10, seed=0, batch_size=10))

# ---------------------------------------------------------- stage: train
train_dataloader = dict(
    batch_size=64,  # 32 real + their 32 paired variants
    sampler=dict(_delete_=True, type='ProgressivePairingSampler',
                 batch_size=64, num_instances=8, interval=5,
                 num_partitions=4),
    dataset=dict(
        _delete_=True, type='ReIDConcatDataset', pipeline='${train_pipeline}',
        datasets=[
            dict(_merge_='${dataset_args}', type='${dataset_type}',
                 data_root='${data_root}', split='train'),
            dict(type='SyntheticDataset', data_root='${dlcr_root}/train_k10',
                 pid_mode='shared'),
        ]))
# identity losses on all 64 images; clothes classifier + CAL on the real 32
model = dict(clothes_classifier=dict(type='DLCRClothesClassifierHead'))

# ------------------------------------------------- stage: query_variants
# l=6 query variants: 10 steps at half resolution
query_generation = dict(pipeline=dict(
    source=dict(type='DLCRSource', data_root='${data_root}',
                mask_provider='${mask_provider}',
                dataset=dict(_merge_='${dataset_args}',
                             type='${dataset_type}', split='query')),
    prompt_builder=dict(type='DLCRPromptBuilder', targets='bank',
                        descriptions='${dlcr_root}/descriptions.json',
                        seed=1),
    generator=dict(_merge_='${inpainter}', height=384, width=128,
                   num_inference_steps=10),
    writer=dict(_merge_='${writer}', out_dir='${dlcr_root}/query_l6'),
    num_variants=6, seed=1, batch_size=12))

# ----------------------------------------------------------- stage: test
# the test images and their variants (read from the query_variants output)
# at the dataset's size, packing the variant fields DLCRMetric needs
variant_test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='PackReIDInputs',
         meta_keys=('pid', 'camid', 'clothes_id', 'modality', 'domain',
                    'split', 'track_id', 'sample_idx', 'img_path',
                    'variant_of', 'variant'))
]
test_dataloader = dict(
    dataset=dict(
        _delete_=True, type='DLCRQueryVariantDataset',
        dataset=dict(_merge_='${dataset_args}', type='${dataset_type}',
                     data_root='${data_root}', split='test'),
        variant_dir='${dlcr_root}/query_l6', num_variants=6,
        pipeline='${variant_test_pipeline}'))
test_evaluator = dict(
    _delete_=True, type='DLCRMetric', protocol='${protocol}',
    dist_metric='cosine', report_plain=True,
    rerankers=[dict(type='DLCRRefinementReranker', m=5, num_variants=6)])
