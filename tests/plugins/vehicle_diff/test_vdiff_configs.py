"""The Vehicle-Diff configs carry the paper's settings and build their parts."""
import glob
import os.path as osp

import pytest

from reidkit.utils.config import load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
EXPERIMENTS = sorted(p for p in glob.glob(osp.join(
    ROOT, 'configs', 'vehicle_diff', '*.py'))
    if not osp.basename(p).startswith(('finetune', 'toy_')))


def load(name):
    return load_config(osp.join(ROOT, 'configs', 'vehicle_diff', name))


def test_paper_generation_and_filter_settings():
    cfg = load('veri776_swinv2_b.py')
    stages = {s['name']: s for s in cfg.stages}
    assert list(stages) == ['caption', 'finetune', 'generate', 'fid', 'train',
                            'test']
    gen = stages['generate']['pipeline']
    g = gen['generator']
    assert (g['height'], g['width'], g['guidance_scale'],
            g['num_inference_steps']) == (1024, 1024, 8.0, 50)
    assert g['pipeline_type'] == 'sdxl' and g['default_adapter'] == 'target'
    assert g['lora']['target']['path'] == \
        stages['finetune']['work_dir'] + '/adapters/default'
    assert gen['num_variants'] == 30
    assert gen['prompt_builder']['template'] == (
        'a {color} {year} {brand} {model} {body_style} driving down the road.')
    det, color = gen['filters']
    assert (det['type'], det['score_thr'], det['min_side'],
            det['reference_size'], tuple(det['classes'])) == (
        'DetectionCropFilter', 0.65, 250, 1024, ('car', 'truck'))
    assert color['templates'] == 'a {value} vehicle'
    assert stages['caption']['fraction'] == 0.01
    assert stages['caption']['out_file'] == \
        stages['finetune']['overrides']['train_dataloader']['dataset'][
            'ann_file']
    # B: balanced real/synthetic batches; CE + circle on both heads
    assert cfg.train_dataloader.sampler.type == 'BalancedDomainSampler'
    assert cfg.train_dataloader.sampler.real_ratio == 0.5
    losses = [d['type'] for d in cfg.model.head.losses]
    aux = [d['type'] for d in cfg.model.aux_heads[0].head.losses]
    assert losses == aux == ['CrossEntropyLoss', 'CircleLoss']
    assert cfg.model.aux_heads[0].in_index == 0   # stage 3


def test_finetune_recipe():
    cfg = load('finetune_lora_sdxl.py')
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.train_cfg.max_epochs == 100
    warm, poly = cfg.param_scheduler
    assert (warm.type, warm.end) == ('LinearLR', 20)
    assert (poly.type, poly.begin, poly.end) == ('PolyLR', 20, 100)
    assert cfg.model.lora.target_modules == 'decoder'
    assert cfg.model.get('textual_inversion') is None  # text encoder frozen


@pytest.mark.parametrize('name,sampler,datasets', [
    ('veri776_swinv2_b_mix.py', 'RandomDomainMixSampler',
     ['VeRi776', 'SyntheticDataset']),
    ('veri776_swinv2_b_synthetic.py', 'IdentitySampler', ['SyntheticDataset']),
    ('veri776_ide_r50.py', 'RandomDomainMixSampler',
     ['VeRi776', 'SyntheticDataset']),
    ('veri776_pcb_r50.py', 'RandomDomainMixSampler',
     ['VeRi776', 'SyntheticDataset']),
    ('cityflow_v2_swinv2_b.py', 'BalancedDomainSampler',
     ['CityFlowV2', 'SyntheticDataset']),
    ('cityflow_v2_to_veri776_swinv2_b.py', 'IdentitySampler',
     ['SyntheticDataset']),
])
def test_variants(name, sampler, datasets):
    cfg = load(name)
    assert cfg.train_dataloader.sampler.type == sampler
    assert [d.type for d in cfg.train_dataloader.dataset.datasets] == datasets


def test_cross_domain_fine_tunes_on_cityflow_and_tests_on_veri():
    cfg = load('cityflow_v2_to_veri776_swinv2_b.py')
    cap = cfg.stages[0]
    assert cap['dataset']['type'] == 'CityFlowV2'
    assert cap['num_images'] == 527
    assert cfg.test_dataloader.dataset.type == 'VeRi776'


def test_every_config_loads():
    assert len(EXPERIMENTS) >= 9
    for path in EXPERIMENTS:
        cfg = load_config(path)
        assert cfg.stages[2]['pipeline']['source']['type'] == \
            'PromptLibrarySource'


@pytest.mark.parametrize('name,target', [
    ('veri776_swinv2_b.py', ('VeRi776', 'data/veri776')),
    ('cityflow_v2_swinv2_b.py', ('CityFlowV2', 'data/cityflow_v2')),
    ('cityflow_v2_to_veri776_swinv2_b.py', ('CityFlowV2', 'data/cityflow_v2')),
])
def test_fid_stage_of_the_paper_configs(name, target, tmp_path):
    """FID of the generated set vs the fine-tuning target's training images
    (Inception); a missing weights file is named before any image is read."""
    import plugins.vehicle_diff  # noqa: F401
    from reidkit.stages import STAGES
    from synthgen.metrics.fid import INCEPTION_WEIGHTS_URL
    missing = str(tmp_path / 'no_inception.pth')
    cfg = load_config(osp.join(ROOT, 'configs', 'vehicle_diff', name),
                      dict(fid_inception_weights=missing),
                      work_dir=str(tmp_path / 'work'))
    spec = next(s for s in cfg.stages if s['name'] == 'fid')
    gen = next(s for s in cfg.stages if s['name'] == 'generate')
    assert (spec['dataset']['type'], spec['dataset']['data_root']) == target
    assert spec['dataset']['split'] == 'train'
    assert spec['generated_dir'] == gen['pipeline']['writer']['out_dir']
    assert spec['features'] == 'inception'
    stage = STAGES.build(dict(spec, cfg=cfg))
    assert missing in stage.inputs()   # shown by --dry-run as missing
    with pytest.raises(FileNotFoundError) as err:
        stage.run()
    msg = str(err.value)
    assert missing in msg and 'fid_inception_weights' in msg
    assert INCEPTION_WEIGHTS_URL in msg
    assert not osp.exists(spec['out_file'])
