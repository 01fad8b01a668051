# CAL (Gu et al., CVPR 2022, authors' code): ResNet-50 last stride 1,
# max+avg pooling concat (4096-d) + BN (learnable shift), linear identity
# classifier with label-smoothed CE (0.1); a cosine clothes classifier
# (scale 16) trained on detached post-BN features with its own Adam; the
# clothes-based adversarial loss (scale 16, epsilon 0.1) from epoch 25
# (the clothes classifier also starts training at 25, as in the code).
# Test feature: post-BN.  Feature dim: 4096.
# `pretrained`: torchvision's ImageNet ResNet-50, downloaded by the user
# (https://download.pytorch.org/models/resnet50-0676ba61.pth); tests: None.
# num_classes / num_clothes are filled by tools/train.py from the train
# set's metainfo['num_pids'] / ['num_clothes'].
model = dict(
    type='CALModel',
    # channels_last weights and inputs: 1.7x faster ResNet-50 training steps
    # on this project's CPU (oneDNN), the recommended layout on GPUs
    channels_last=True,
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(
        type='TimmBackbone',
        model_name='resnet50',
        last_stride=1,
        pretrained='checkpoints/resnet50-0676ba61.pth'),
    neck=dict(type='MaxAvgPool', in_channels=2048),
    head=dict(
        type='BNNeckHead',
        in_channels=4096,
        num_classes=None,
        bnneck_bias_frozen=False,
        classifier=dict(type='LinearClassifier', bias=True),
        losses=[dict(type='CrossEntropyLoss', label_smoothing=0.1)]),
    clothes_classifier=dict(
        type='ClothesClassifierHead',
        in_channels=4096,
        num_clothes=None,
        scale=16.0,
        start_epoch=25,
        in_feat='post_bn',
        adv_loss=dict(type='ClothesAdversarialLoss', scale=16.0,
                      epsilon=0.1, start_epoch=25, loss_weight=1.0)))
# Two optimisers (CALModel.train_step updates the clothes classifier first,
# then the rest). schedules/cal_60e.py also defines `optim_wrapper` and
# mmengine forbids one key in two bases, so a paper config selects this one:
#   optim_wrapper = _base_.cal_optim_wrapper
# (with cal_60e's single optimiser the model still trains CAL, summing the
# losses in one step; see CALModel).
cal_optim_wrapper = dict(
    _delete_=True,  # replace, not merge into, the schedule's optim_wrapper
    constructor='ReIDOptimWrapperConstructor',
    model=dict(type='OptimWrapper',
               optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=5e-4)),
    clothes_classifier=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=3.5e-4, weight_decay=5e-4)))
