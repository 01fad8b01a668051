# PCB (Sun et al. 2018) on ResNet-50: last stride 1, 6 horizontal stripes,
# per-stripe 1x1 conv to 256-d + BN + ReLU and classifier, CE summed over the
# stripes; test feature: the 6 stripe vectors g concatenated (6 x 2048).
# `pretrained`: torchvision's ImageNet ResNet-50 saved to this path.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(type='TimmBackbone', model_name='resnet50', last_stride=1,
                  pretrained='checkpoints/resnet50-0676ba61.pth'),
    neck=dict(type='PartPool', num_parts=6),
    head=dict(type='PCBHead', in_channels=2048, num_classes=None,
              num_parts=6, reduce_dim=256, dropout=0.5, test_feat='g',
              losses=[dict(type='CrossEntropyLoss')]))
