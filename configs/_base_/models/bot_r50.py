# Bag of tricks (Luo et al. 2019): ResNet-50, last stride 1, GAP, BNNeck
# (bias frozen), bias-free linear classifier; label-smoothed CE (0.1) on the
# post-BN logits + batch-hard triplet (margin 0.3) on the pre-BN feature.
# Test feature: post-BN.  Feature dim: 2048.
# `pretrained`: torchvision's ImageNet ResNet-50 (downloaded by the user,
# https://download.pytorch.org/models/resnet50-0676ba61.pth); tests use None.
model = dict(
    type='ReIDModel',
    # channels_last weights and inputs: ResNet-50 256x128 batch-64 training
    # 9.3 img/s vs 6.0 contiguous (1.55x; 1.51x torchreid's engine) on the
    # project's idle 2-core CPU (benchmarks/train_throughput.md, 2026-11-21);
    # the layout recommended on GPUs
    channels_last=True,
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(
        type='TimmBackbone',
        model_name='resnet50',
        last_stride=1,
        pretrained='checkpoints/resnet50-0676ba61.pth'),
    neck=dict(type='GlobalAvgPool', in_channels=2048),
    head=dict(
        type='BNNeckHead',
        in_channels=2048,
        num_classes=None,
        bnneck=True,
        metric_feat='pre_bn',
        test_feat='post_bn',
        losses=[
            dict(type='CrossEntropyLoss', label_smoothing=0.1,
                 loss_weight=1.0),
            dict(type='TripletLoss', margin=0.3, hard_mining=True,
                 metric='euclidean', loss_weight=1.0)
        ]))
