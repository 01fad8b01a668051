# Strong vehicle baseline (Cybercore, AI City 2021 track 2): ResNeXt-101
# (32x4d) IBN-a, last stride 1, MixStyle after stages 1 and 2 (p 0.5,
# alpha 0.1), GeM (learnable p, init 3), multi-head attention head (32
# groups of 2048, GroupFace-style), BNNeck; label-smoothed CE (0.1) on the
# logits + SupCon (temperature 0.07) on the post-BN feature, weights
# adapted by MALW (K=500, momentum 0.9).  Test feature: post-BN.
# Feature dim: 2048.
# `pretrained`: the IBN-Net release resnext101_ibn_a-6ace051d.pth,
# downloaded by the user from the IBN-Net GitHub releases to this path;
# tests use None.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(
        type='MixStyleBackbone',
        after=('layer1', 'layer2'),
        p=0.5,
        alpha=0.1,
        mix='random',
        backbone=dict(
            type='ResNetIBN',
            depth=101,
            groups=32,
            width_per_group=4,
            ibn=('a', 'a', 'a', None),
            last_stride=1,
            pretrained='checkpoints/resnext101_ibn_a-6ace051d.pth')),
    neck=dict(type='GeMPool', p=3.0, learnable=True, in_channels=2048),
    head=dict(
        type='MultiHeadAttentionHead',
        in_channels=2048,
        num_classes=None,
        feat_channels=2048,
        num_groups=32,
        gdn_channels=256,
        metric_feat='post_bn',
        losses=[
            dict(type='CrossEntropyLoss', label_smoothing=0.1,
                 loss_weight=1.0),
            dict(type='SupConLoss', temperature=0.07, loss_weight=1.0)
        ]))
# MALW is a hook. `custom_hooks` is defined by default_runtime.py, and
# mmengine forbids one key in two bases, so a paper config adds it:
#   custom_hooks = [dict(type='EpochToModelHook'), _base_.malw_hook]
malw_hook = dict(type='MALWHook', id_losses=['loss_ce'],
                 metric_losses=['loss_supcon'], interval=500, momentum=0.9)
