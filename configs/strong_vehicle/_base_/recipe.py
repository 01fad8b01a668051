# Strong vehicle baseline (Huynh et al., AI City 2021 track 2): the training
# recipe shared by every dataset config. Model: ../../_base_/models/
# strong_vehicle_ibn_x101.py with the details of the authors' code
# (cybercore-co-ltd/track2_aicity_2021) where the paper is vague:
#   - MixStyle2 after layer1/layer2, p 0.5, alpha 0.1 (mix='halves': the
#     partner of a sample comes from the other half of the batch);
#   - GeM with p fixed at 3 (their GeM() freezes p);
#   - label-smoothed CE (0.1) + SupCon (t 0.07) on the *un-normalised*
#     post-BN feature; MALW on the raw losses (variant='authors', K 500,
#     momentum 0.9);
#   - the circle classifier (s 64, m 0.35) of their shipped aicity20.yml is
#     `circle_classifier` below (that file pairs it with a triplet loss);
# Schedule (paper 4.2 + their config): 320x320, Adam 3.5e-4, wd 1e-6,
# 500-iteration linear warm-up (factor 0.01) then cosine, 12 epochs,
# backbone frozen for the first epoch, P x K = 16 x 8; AMP on GPU
# (tools/train.py --amp).
_base_ = ['../../_base_/models/strong_vehicle_ibn_x101.py',
          '../../_base_/default_runtime.py']
# custom_imports (plugins.strong_vehicle) is set by each experiment config,
# so one can also inherit another plugin's base (which sets its own)

num_ids_per_batch = 16
num_instances = 8

circle_classifier = dict(type='CosineClassifier', scale=64, margin=0.35,
                         margin_type='circle')
model = dict(
    backbone=dict(mix='halves'),
    neck=dict(learnable=False),
    head=dict(losses=[
        dict(type='CrossEntropyLoss', label_smoothing=0.1, loss_weight=1.0),
        dict(type='SupConLoss', temperature=0.07, normalize=False,
             loss_weight=1.0)]))
malw_hook = dict(type='MALWHook', id_losses=['loss_ce'],
                 metric_losses=['loss_supcon'], interval=500, momentum=0.9,
                 variant='authors')
custom_hooks = [dict(type='EpochToModelHook'), '${malw_hook}',
                dict(type='FreezeBackboneHook', epochs=1)]

# Data settings, named sv_* because mmengine forbids a key in two bases
# (the dataset base defines train_pipeline): a dataset config takes them
# with {{_base_.sv_train_pipeline}}. Sizes are the dataset config's
# img_size (320x320 in the paper), padding its `pad` (10). Their
# build_transforms order; erasing max area 0.4.
patch_min_pool = 100  # RandomPatch pastes once it holds this many patches
sv_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDPad', padding='${pad}'),
    dict(type='ReIDRandomCrop', size='${img_size}'),
    dict(type='ReIDRandomPatch', prob=0.25, patch_max_area=0.16,
         min_pool='${patch_min_pool}'),
    dict(type='ReIDColorJitter', brightness=0.2, contrast=0.15,
         saturation=0.0, hue=0.0, prob=0.25),
    dict(type='ReIDAugMix', prob=0.25),
    dict(type='ReIDRandomBlur', prob=0.25),
    dict(type='ReIDRandomErasing', prob=0.5, area=(0.02, 0.4), fill='mean'),
    dict(type='PackReIDInputs'),
]
batch_size = num_ids_per_batch * num_instances
max_epochs = 12
warmup_iters = 500
sv_sampler = dict(_delete_=True, type='IdentitySampler',
                  batch_size=batch_size, num_instances=num_instances)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=1e-6))
# the cosine spans the whole run (mmengine needs its length, known only in
# epochs) and the warm-up multiplies its first 500 iterations: on CityFlowV2
# (346 iterations an epoch) the cosine factor is 0.97 when the warm-up ends
# (late references: a config or --cfg-options max_epochs=N changes all)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end='${warmup_iters}'),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0,
         end='${max_epochs}', T_max='${max_epochs}', eta_min=0.0,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs='${max_epochs}',
                 val_interval='${max_epochs}')
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
