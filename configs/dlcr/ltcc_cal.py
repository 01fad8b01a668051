# DLCR (Siddiqui et al.) with CAL on LTCC: all of the paper's pipeline.
#   python tools/train.py configs/dlcr/ltcc_cal.py
# 1. generation (resumable; skipped when complete): human-parsing clothes
#    masks, LLaVA captions -> LLaMA summaries per clothes id, and K=10 SD
#    inpaintings per training image (768x256, 50 steps, guidance 7.5) into
#    work_dirs/dlcr_data/ltcc/train_k10 (shared by every run on LTCC);
# 2. CAL training on 32 real images + 32 paired variants per batch with the
#    progressive pool (N=5 epochs, 4 partitions);
# 3. test: l=6 query variants (10 steps, 384x128, cached in .../query_l6) and
#    Algorithm 1 with m=5 (DLCRMetric also prints the un-refined plain/*
#    scores).
# LTCC: general / same-clothes / clothes-changing scores; the paper reports
# cc/* (Table 2: CAL 39.5 / DLCR 41.3 top-1).
# Weights are read from the hub cache / local folders (local_files_only):
# download the human parser, LLaVA, LLaMA and SD-inpainting checkpoints first
# or point the model fields below at local folders.
_base_ = ['../cal/ltcc_cal.py']
custom_imports = dict(imports=['plugins.dlcr'], allow_failed_imports=False)

dataset_type = 'LTCC'
data_root = 'data/ltcc'
dlcr_root = 'work_dirs/dlcr_data/ltcc'
train_pipeline = {{_base_.train_pipeline}}
img_size = (384, 192)  # (height, width), as the CAL base

# ------------------------------------------------------- stage 1: generation
mask_provider = dict(
    type='HumanParsingMaskProvider',
    model='mattmdjaga/segformer_b2_clothes', label_map='atr',
    cache_dir=dlcr_root + '/masks', batch_size=32)
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
generation = dict(pipeline=dict(
    source=dict(type='DLCRSource', data_root=data_root,
                dataset=dict(type=dataset_type, split='train'),
                mask_provider=mask_provider),
    prompt_builder=dict(type='DLCRPromptBuilder',
                        descriptions=dlcr_root + '/descriptions.json',
                        describer=describer, seed=0),
    generator=inpainter,
    writer=dict(out_dir=dlcr_root + '/train_k10', img_format='jpg',
                quality=95),
    num_variants=10, seed=0, batch_size=10))

# ------------------------------------------------------- stage 2: training
train_dataloader = dict(
    batch_size=64,  # 32 real + their 32 paired variants
    sampler=dict(_delete_=True, type='ProgressivePairingSampler',
                 batch_size=64, num_instances=8, interval=5,
                 num_partitions=4),
    dataset=dict(
        _delete_=True, type='ReIDConcatDataset', pipeline=train_pipeline,
        datasets=[
            dict(type=dataset_type, data_root=data_root, split='train'),
            dict(type='SyntheticDataset', data_root=dlcr_root + '/train_k10',
                 pid_mode='shared'),
        ]))
# identity losses on all 64 images; clothes classifier + CAL on the real 32
model = dict(clothes_classifier=dict(type='DLCRClothesClassifierHead'))

# ------------------------------------------- test-time prediction refinement
query_generation = dict(
    source=dict(type='DLCRSource', data_root=data_root,
                dataset=dict(type=dataset_type, split='query'),
                mask_provider=mask_provider),
    prompt_builder=dict(type='DLCRPromptBuilder',
                        descriptions=dlcr_root + '/descriptions.json',
                        targets='bank', seed=1),
    generator=dict(inpainter, height=384, width=128, num_inference_steps=10),
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
        dataset=dict(type=dataset_type, data_root=data_root, split='test'),
        generation=query_generation, num_variants=6,
        pipeline=variant_test_pipeline))
test_evaluator = dict(
    _delete_=True, type='DLCRMetric', protocol='ltcc',
    dist_metric='cosine', report_plain=True,
    rerankers=[dict(type='DLCRRefinementReranker', m=5, num_variants=6)])
