# IDE ResNet-50 (Zheng et al.; the FineGPR / AOST baseline): ImageNet
# ResNet-50, global average pooling, linear classifier, softmax CE only.
# Test feature: the pooled 2048-d vector (no BNNeck).  Feature dim: 2048.
# `pretrained`: torchvision's ImageNet ResNet-50, downloaded by the user
# (https://download.pytorch.org/models/resnet50-0676ba61.pth) to this path;
# tests set it to None.  `num_classes=None` is filled by tools/train.py from
# the train set's metainfo['num_pids'].
model = dict(
    type='ReIDModel',
    # channels_last weights and inputs: 1.7x faster ResNet-50 training steps
    # on this project's CPU (oneDNN), the recommended layout on GPUs
    channels_last=True,
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(
        type='TimmBackbone',
        model_name='resnet50',
        last_stride=None,  # AOST uses the vanilla ResNet-50 (stride 2)
        pretrained='checkpoints/resnet50-0676ba61.pth'),
    neck=dict(type='GlobalAvgPool', in_channels=2048),
    head=dict(
        type='BNNeckHead',
        in_channels=2048,
        num_classes=None,
        bnneck=False,
        classifier=dict(type='LinearClassifier', bias=True),
        losses=[dict(type='CrossEntropyLoss', loss_weight=1.0)]))
