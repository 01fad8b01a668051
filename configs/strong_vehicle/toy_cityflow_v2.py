# The strong vehicle pipeline (./_base_/pipeline.py, every stage) in the toy
# world with tiny random-weight timm models on a CPU: ResNet-18 in the
# ResNeXt101-IBN-a slot, ResNet-10t and ResNet-14t in the ResNet50 /
# ResNet101-IBN-a slots, ResNet-10t camera and orientation models (the
# latter on the toy VehicleX), then the post-processing chain:
#   python tools/make_toy_data.py cityflow_v2 data/toy/cityflow_v2 \
#       --ids 40 --size 64x64
#   python tools/make_toy_data.py vehiclex data/toy/vehiclex \
#       --ids 30 --size 64x64
#   python tools/train.py configs/strong_vehicle/toy_cityflow_v2.py
# (plugins/strong_vehicle/toy_ablation.py trains its rows from this config)
_base_ = ['./cityflow_v2_x101.py']
data_root = 'data/toy/cityflow_v2'
vehiclex_root = 'data/toy/vehiclex'
img_size = (64, 64)
pad = 4
max_epochs = 2
warmup_iters = 5
backbone_channels = 512
x101_backbone = dict(_delete_=True, type='TimmBackbone',
                     model_name='resnet18', pretrained=None)
r50_backbone = dict(x101_backbone, model_name='resnet10t')
r101_backbone = dict(x101_backbone, model_name='resnet14t')
model = dict(backbone=dict(after=('model.layer1', 'model.layer2')),
             head=dict(feat_channels=128, num_groups=4, gdn_channels=32))
malw_hook = dict(interval=5)

batch_size = 32
train_dataloader = dict(
    batch_size=batch_size, num_workers=0, persistent_workers=False,
    sampler=dict(batch_size=batch_size, num_instances=4))
val_dataloader = dict(batch_size=64, num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=100, save_last=True))
patch_min_pool = 20
# camera and orientation models on ResNet-10t; 6 yaw classes in the toy
# VehicleX, so 4 classes x 8 images a batch
aux_backbone = dict(x101_backbone, model_name='resnet10t')
orientation_data = dict(sampler=dict(num_instances=8))
rerank = dict(k1=20, k2=6, lambda_value=0.3)  # a toy gallery of ~60 images
