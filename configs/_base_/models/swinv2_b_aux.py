# Swin-V2-B with an auxiliary classifier (Vehicle-Diff, following
# Zheng et al.'s re-ID baseline): timm swinv2_base_window8_256 at 256x256,
# GAP of the last stage (1024-d) -> BNNeck -> classifier; the auxiliary head
# pools stage 3 (512-d). Both heads use CE + circle loss (the paper: "the
# same loss terms to both the primary and auxiliary classifiers"); circle
# m=0.25, gamma=32 as in Zheng et al.'s baseline code (it notes 64 may do
# better); the paper gives no values.
# Test feature: post-BN of the main head.  Feature dim: 1024.
# `pretrained`: 'timm' downloads timm's ImageNet weights for
# swinv2_base_window8_256 when the model is built; or point it at a local
# file saved from those weights.  Tests use None and the tiny variant.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(
        type='TimmBackbone',
        model_name='swinv2_base_window8_256',
        img_size=(256, 256),
        drop_path_rate=0.2,
        out_indices=(2, -1),  # stage 3 (512-d) for the aux head, final 1024
        pretrained='timm'),
    neck=dict(type='GlobalAvgPool', in_channels=1024),
    head=dict(
        type='BNNeckHead',
        in_channels=1024,
        num_classes=None,
        losses=[
            dict(type='CrossEntropyLoss', loss_weight=1.0),
            dict(type='CircleLoss', m=0.25, gamma=32, loss_weight=1.0)
        ]),
    aux_heads=[
        dict(
            type='AuxClassifierHead',
            in_index=0,  # first backbone output = stage 3
            neck=dict(type='GlobalAvgPool', in_channels=512),
            head=dict(
                type='BNNeckHead',
                in_channels=512,
                num_classes=None,  # copied from the main head
                losses=[
                    dict(type='CrossEntropyLoss', loss_weight=1.0),
                    dict(type='CircleLoss', m=0.25, gamma=32,
                         loss_weight=1.0)
                ]))
    ])
