# DEEN (Zhang and Wang, CVPR 2023), the DiVE headline model, as the LLCM
# authors' code (ZYK100/LLCM DEEN/; the DiVE copy in Re-ID_model/DEEN):
# two-stream ResNet-50 + MFA blocks + diverse embedding expansion (3
# embeddings per image), global average pooling, BNNeck; CE + batch-hard
# triplet (margin 0.3) on all 3B rows, CPM (margin 0.2, lambda_1 0.8) and
# the orthogonal loss (lambda_2 0.01). Test feature: the six L2-normalised
# pre/post-BN features of the three embeddings (their distmat7), cosine.
# Transforms (DEEN/train.py, SYSU): pad 10, random greyscale 0.5, random
# crop, flip, random erasing 0.5 with area (0.2, 0.8) (LLCM: (0.02, 0.4)),
# at 384x144 (the DiVE copy's img_h; LLCM's DEEN/train.py also 384).
# Schedule: VI schedule with x0.01 from epoch 80, 151 epochs.
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    backbone=dict(type='DEENResNet', depth=50, last_stride=1,
                  pretrained='checkpoints/resnet50-0676ba61.pth'),
    neck=dict(type='GlobalAvgPool'),
    head=dict(
        type='DEENHead', in_channels=2048, num_classes=None,
        losses=[dict(type='CrossEntropyLoss', loss_weight=1.0),
                dict(type='TripletLoss', margin=0.3, loss_weight=1.0)],
        cpm_loss=dict(type='CenterPairMiningLoss', margin=0.2,
                      loss_weight=0.8),
        ort_loss=dict(type='ExpansionOrthogonalLoss', loss_weight=0.01),
        test_feat='all'))
img_size = (384, 144)  # (height, width)
deen_erase_area = (0.2, 0.8)  # SYSU-MM01; the LLCM configs set (0.02, 0.4)
vi_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='ReIDPad', padding='${pad}'),
    dict(type='ReIDChannelExchange', probs=(0, 0, 0, 0.5, 0.5)),
    dict(type='ReIDRandomCrop', size='${img_size}'),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='ReIDRandomErasing', prob=0.5, area='${deen_erase_area}'),
    dict(type='PackReIDInputs'),
]
vi_milestones = [20, 80]
vi_max_epochs = 151
