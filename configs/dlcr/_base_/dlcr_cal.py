# DLCR (Siddiqui et al.) with CAL: the settings every paper config shares.
# A paper config inherits it next to its CAL baseline,
#   _base_ = ['../cal/<dataset>_cal.py', './_base_/dlcr_cal.py']
# and adds only what names its dataset: the data and output folders of
# `mask_provider`, `generation` and `query_generation` (it takes them as
# `_base_.<name>` and sets those fields: dicts built here cannot see a child's
# variables), and the keys its CAL base also defines (train_dataloader,
# test_dataloader, test_evaluator, model), which mmengine does not let two
# bases share.
# 1. generation (resumable; skipped when complete): human-parsing clothes
#    masks, LLaVA captions -> LLaMA summaries per clothes id, and K=10 SD
#    inpaintings per training image (768x256, 50 steps, guidance 7.5) into
#    <dlcr_root>/train_k10 (shared by every run on the dataset);
# 2. CAL training on 32 real images + 32 paired variants per batch with the
#    progressive pool (N=5 epochs, 4 partitions);
# 3. test: l=6 query variants (10 steps, 384x128, cached in
#    <dlcr_root>/query_l6) and Algorithm 1 with m=5 (DLCRMetric also prints
#    the un-refined plain/* scores).
# Weights are read from the hub cache / local folders (local_files_only):
# download the human parser, LLaVA, LLaMA and SD-inpainting checkpoints first
# or point the model fields below at local folders.
custom_imports = dict(imports=['plugins.dlcr'], allow_failed_imports=False)

# ------------------------------------------------------- stage 1: generation
# a paper config adds cache_dir=<dlcr_root>/masks
mask_provider = dict(
    type='HumanParsingMaskProvider',
    model='mattmdjaga/segformer_b2_clothes', label_map='atr', batch_size=32)
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
# a paper config sets source.data_root / mask_provider / dataset,
# prompt_builder.descriptions and writer.out_dir
generation = dict(pipeline=dict(
    source=dict(type='DLCRSource', mask_provider=mask_provider),
    prompt_builder=dict(type='DLCRPromptBuilder', describer=describer,
                        seed=0),
    generator=inpainter,
    writer=dict(img_format='jpg', quality=95),
    num_variants=10, seed=0, batch_size=10))

# ------------------------------------------- test-time prediction refinement
# l=6 query variants: 10 steps at half resolution. A paper config sets
# source.data_root / mask_provider / dataset, prompt_builder.descriptions and
# writer.out_dir, and nests the whole in its test_dataloader.
query_generation = dict(
    source=dict(type='DLCRSource'),
    prompt_builder=dict(type='DLCRPromptBuilder', targets='bank', seed=1),
    generator=dict(inpainter, height=384, width=128, num_inference_steps=10),
    writer=dict(img_format='jpg', quality=95),
    num_variants=6, seed=1, batch_size=12)
# The test images and their variants at CAL's image size (384x192; a dataset
# at another size, CCVID's 256x128, sets the ReIDResize step's size), packing
# the variant fields DLCRMetric needs.
variant_test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=(384, 192)),
    dict(type='PackReIDInputs',
         meta_keys=('pid', 'camid', 'clothes_id', 'modality', 'domain',
                    'split', 'track_id', 'sample_idx', 'img_path',
                    'variant_of', 'variant'))
]
