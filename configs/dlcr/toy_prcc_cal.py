# DLCR with CAL on the toy PRCC, end to end on a 2-core CPU: the paper
# config's stages (./prcc_cal.py) with toy components: toy part masks,
# descriptions from the rendered attributes, K=10 recolour inpaintings per
# training image; CAL with progressive pairing (32 real + 32 variants per
# batch; pool widened every N=1 epoch, the toy schedule being 7 epochs: all
# variants from epoch 3); test-time refinement (l=6 recoloured query
# variants, m=5). DLCRMetric prints refined scores and the plain/* ones.
#   .venv/bin/python tools/make_toy_data.py prcc data/toy/prcc --ids 100 --size 64x32
#   .venv/bin/python tools/train.py configs/dlcr/toy_prcc_cal.py
# The three-seed ablation table: .venv/bin/python -m plugins.dlcr.toy_ablation
_base_ = ['./prcc_cal.py']
data_root = 'data/toy/prcc'
dlcr_root = 'work_dirs/dlcr_data/toy_prcc'
img_size = (64, 32)

mask_provider = dict(_delete_=True, type='ToyWorldMaskProvider')
describer = dict(_delete_=True, type='toy')
inpainter = dict(_delete_=True, type='RecolorInpainter')
writer = dict(_delete_=True, img_format='png', fsync=False)
generation = dict(pipeline=dict(batch_size=100))
query_generation = dict(pipeline=dict(
    generator=dict(_delete_=True, _merge_='${inpainter}'), batch_size=60))

# the toy CAL settings of ../cal/toy_prcc_cal.py (mmengine lets a config
# inherit one chain, so the toy training settings are repeated here)
model = dict(
    channels_last=False,
    backbone=dict(model_name='resnet18', pretrained=None),
    neck=dict(in_channels=512),
    head=dict(in_channels=1024),
    clothes_classifier=dict(in_channels=1024, start_epoch=4,
                            adv_loss=dict(start_epoch=4)))
optim_wrapper = dict(model=dict(optimizer=dict(lr=1e-3)))
pad = 4  # ReIDPad before the random crop
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    sampler=dict(num_instances=4, interval=1))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = dict(num_workers=0, persistent_workers=False)
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[6], gamma=0.1),
]
train_cfg = dict(max_epochs=7, val_interval=100)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=100, save_last=True))
work_dir = 'work_dirs/dlcr_toy_prcc_cal'  # not work_dirs/toy_prcc_cal: configs/cal/toy_prcc_cal.py has that
