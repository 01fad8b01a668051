# DenseNet-121 (Huang et al.; a Vehicle-Diff baseline): timm densenet121,
# GAP, BNNeck, label-smoothed CE + batch-hard triplet.  Test feature:
# post-BN.  Feature dim: 1024.
# `pretrained`: a local ImageNet DenseNet-121 checkpoint the user downloads
# (e.g. timm's 'densenet121.tv_in1k' weights saved to this path), or
# pretrained='timm' to let timm download them at build time; tests use None.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(
        type='TimmBackbone',
        model_name='densenet121',
        pretrained='checkpoints/densenet121_tv_in1k.pth'),
    neck=dict(type='GlobalAvgPool', in_channels=1024),
    head=dict(
        type='BNNeckHead',
        in_channels=1024,
        num_classes=None,
        losses=[
            dict(type='CrossEntropyLoss', label_smoothing=0.1),
            dict(type='TripletLoss', margin=0.3)
        ]))
