# FineGPR + AOST (Xiang et al.): the whole paper path on FineGPR, shared by the
# per-target configs, which set `target_*` and little else.
#   distances -> regress -> search -> select -> train_translator -> translate
#   -> train (IDE ResNet-50, softmax) -> test (Market, Duke, CUHK03-NP: one table)
# Paths are late references (${...}), resolved after --cfg-options.
_base_ = [
    '../../_base_/models/ide_r50.py', '../../_base_/datasets/finegpr.py',
    './ide_schedule.py', '../../_base_/default_runtime.py'
]
custom_imports = dict(imports=['plugins.aost'], allow_failed_imports=False)

data_root = 'data/finegpr'            # FineGPR/<pid>/PPPP_cCC_wWW_lLL_pPP.jpg
# the target whose attribute distribution and style are matched
target_type = 'Market1501'
target_root = 'data/market1501'
target_pattern = 'bounding_box_train/*.jpg'   # translator's target images
market_root = 'data/market1501'
duke_root = 'data/dukemtmc'
cuhk03_root = 'data/cuhk03-np'
# torchvision's ImageNet VGG-19 (download
# https://download.pytorch.org/models/vgg19-dcbb9e9d.pth); None = random weights
vgg19_weights = 'checkpoints/vgg19-dcbb9e9d.pth'
img_size = (256, 128)
# where Stage I / II products go (aost/, train_translator/, translated/):
# the run's own work dir, or a folder shared by runs on the same target
aost_root = '${work_dir}'
device = 'cpu'

# Stage I (attribute optimisation). Paper: w_l = 0.2, alpha 0.9, beta 1;
# 124,200 images = 1,150 ids x 108 = 12 viewpoints x 3 weathers x 3 lights.
distance = dict(pretrained='${vgg19_weights}', style_weight=0.2, alpha=0.9,
                beta=1.0, size='${img_size}', batch_size=64, device='${device}')
per_setting = 1            # images per (viewpoint, weather, light, background)
max_target = 2000          # target training images in the target mean
search_sizes = dict(viewpoint=12, weather=3, illumination=3)
pso = dict(n_particles=30, iters=100, seed=0)
max_ids = None             # the paper keeps every identity

# Stage II (style transfer): SPGAN (contrastive_weight=0: CycleGAN, the ablation)
adam_gan = dict(type='OptimWrapper',
                optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
translator = dict(
    default_scope='synthgen',
    custom_imports=dict(imports=['plugins.aost'], allow_failed_imports=False),
    model=dict(type='SPGAN', generator=dict(ngf=64, n_blocks=9),
               discriminator=dict(ndf=64, n_layers=3),
               siamese=dict(ch=64, dim=128), cycle_weight=10.0,
               identity_weight=5.0, contrastive_weight=2.0, margin=2.0),
    train_dataloader=dict(
        batch_size=1, num_workers=4,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        collate_fn=dict(type='default_collate'),
        dataset=dict(type='UnpairedImageDataset', source_root='${data_root}',
                     source_list='${aost_root}/aost/selected.txt',
                     target_root='${target_root}',
                     target_pattern='${target_pattern}', size='${img_size}')),
    train_cfg=dict(type='IterBasedTrainLoop', max_iters=100000),
    optim_wrapper=dict(constructor='ReIDOptimWrapperConstructor',
                       model=adam_gan, discriminator=adam_gan, siamese=adam_gan),
    custom_hooks=[dict(type='SaveAdaptersHook', interval=10000)],
    default_hooks=dict(
        logger=dict(type='LoggerHook', interval=50),
        checkpoint=dict(type='CheckpointHook', interval=10000, by_epoch=False,
                        max_keep_ckpts=1)),
    log_processor=dict(by_epoch=False),
    randomness=dict(seed=0))

# Re-ID: 256x128, random flip only, batch 128 (paper)
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='ReIDRandomFlip', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    batch_size=128,
    dataset=dict(_delete_=True, type='SyntheticDataset',
                 data_root='${aost_root}/translated', pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(type='Market1501', data_root='${market_root}',
                                    split='test', pipeline=test_pipeline))
val_dataloader = None   # the paper tests once, after 120 epochs
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ReIDMetric', protocol='market')
dg_targets = dict(
    market=dict(test_dataloader=dict(dataset=dict(type='Market1501',
                                                  data_root='${market_root}'))),
    duke=dict(test_dataloader=dict(dataset=dict(type='DukeMTMC',
                                                data_root='${duke_root}'))),
    cuhk03=dict(test_dataloader=dict(dataset=dict(
        type='CUHK03NP', data_root='${cuhk03_root}', subset='detected'))))

aost_stages = [
    dict(name='distances', type='AOSTDistanceStage', source_root='${data_root}',
         target=dict(type='${target_type}', data_root='${target_root}',
                     split='train'),
         out_file='${aost_root}/aost/distances.jsonl', distance='${distance}',
         per_setting='${per_setting}', max_target='${max_target}'),
    dict(name='regress', type='AOSTRegressStage',
         distances_file='${aost_root}/aost/distances.jsonl',
         out_file='${aost_root}/aost/regressor.json'),
    dict(name='search', type='AOSTSearchStage', source_root='${data_root}',
         regressor_file='${aost_root}/aost/regressor.json',
         out_file='${aost_root}/aost/selection.json', sizes='${search_sizes}',
         search='${pso}'),
    dict(name='select', type='AOSTSelectStage', source_root='${data_root}',
         selection_file='${aost_root}/aost/selection.json',
         out_file='${aost_root}/aost/selected.txt',
         random_file='${aost_root}/aost/random.txt', max_ids='${max_ids}'),
]
transfer_stages = [
    dict(name='train_translator', type='AOSTTranslatorStage', config='${translator}',
         work_dir='${aost_root}/train_translator'),
    dict(name='translate', type='GenerateStage', progress=False, pipeline=dict(
        source=dict(type='FineGPRListSource', data_root='${data_root}',
                    image_list='${aost_root}/aost/selected.txt'),
        generator=dict(type='GANTranslator',
                       checkpoint_dir='${aost_root}/train_translator/adapters',
                       size='${img_size}', device='${device}'),
        writer=dict(out_dir='${aost_root}/translated'), batch_size=16)),
]
reid_stages = [
    dict(name='train', type='TrainStage', work_dir='${work_dir}/reid'),
    dict(name='test', type='MultiTargetTestStage', targets='${dg_targets}'),
]
stages = aost_stages + transfer_stages + reid_stages
