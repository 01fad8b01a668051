# CAL (Gu et al., CVPR 2022), the baseline of DLCR: what every CAL config
# shares. Authors' settings: ResNet-50 (last stride 1), max+avg pooling,
# 384x192, 32 images per batch (4 identities x 8), Adam 3.5e-4, steps at
# 20/40, 60 epochs, CAL loss from epoch 25; cosine retrieval.
# A dataset config inherits it next to its dataset base,
#   _base_ = ['../_base_/datasets/<dataset>.py', './_base_/cal.py']
# and sets the batches and the evaluator's protocol (the dataset base owns
# those keys, and mmengine does not let two bases share a key).
_base_ = [
    '../../_base_/models/cal_r50.py', '../../_base_/schedules/cal_60e.py',
    '../../_base_/default_runtime.py'
]

# CAL's two optimisers (identity model; clothes classifier), see the model base
optim_wrapper = {{_base_.cal_optim_wrapper}}
