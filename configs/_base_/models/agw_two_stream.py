# AGW for visible-infrared re-ID (Ye et al., TPAMI 2021; the DiVE
# baseline): two-stream ResNet-50 (modality-specific stems, shared
# layer1-4, last stride 1), non-local blocks after the last 2 blocks of
# layer2 and the last 3 of layer3, GeM with fixed p=3, BNNeck (bias
# frozen), bias-free linear classifier; CE on the logits + weighted
# regularisation triplet on the pre-BN feature.  Samples are routed by their
# `modality` label.  Test feature: post-BN (AGW L2-normalises it; use
# dist_metric='cosine' in the metric).  Feature dim: 2048.
# `pretrained`: torchvision's ImageNet ResNet-50, downloaded by the user
# (https://download.pytorch.org/models/resnet50-0676ba61.pth); its stem is
# copied into both streams.  Tests use None.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(
        type='TwoStreamResNet',
        depth=50,
        last_stride=1,
        non_local=(0, 2, 3, 0),
        pretrained='checkpoints/resnet50-0676ba61.pth'),
    neck=dict(type='GeMPool', p=3.0, learnable=False, in_channels=2048),
    head=dict(
        type='BNNeckHead',
        in_channels=2048,
        num_classes=None,
        metric_feat='pre_bn',
        losses=[
            dict(type='CrossEntropyLoss', loss_weight=1.0),
            dict(type='WeightedRegularizationTripletLoss', loss_weight=1.0)
        ]))
