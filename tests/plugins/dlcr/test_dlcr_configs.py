"""The DLCR configs parse, inherit the CAL baselines and hold the paper's settings."""
import os
import os.path as osp

import pytest
from mmengine.config import Config

from reidkit.utils.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DATASETS = ['prcc', 'ltcc', 'vc_clothes', 'ccvid', 'last']


@pytest.mark.parametrize('name', DATASETS)
def test_paper_configs(name):
    path = os.path.join(ROOT, 'configs', 'dlcr', f'{name}_cal.py')
    # a per-dataset paper config names its dataset and little else
    assert len(open(path).read().splitlines()) <= 20
    cfg = load_config(path)
    assert cfg.data_root == f'data/{name}'
    assert [(s.name, s.type) for s in cfg.stages] == [
        ('generate', 'GenerateStage'), ('train', 'TrainStage'),
        ('query_variants', 'GenerateStage'), ('test', 'TestStage')]
    pipe = cfg.generation.pipeline
    assert pipe.num_variants == 10
    gen = pipe.generator
    assert (gen.height, gen.width) == (768, 256)
    assert gen.num_inference_steps == 50 and gen.guidance_scale == 7.5
    assert pipe.source.type == 'DLCRSource'
    assert pipe.prompt_builder.describer.type == 'vlm_llm'
    sampler = cfg.train_dataloader.sampler
    assert sampler.type == 'ProgressivePairingSampler'
    assert (sampler.batch_size, sampler.num_instances, sampler.interval,
            sampler.num_partitions) == (64, 8, 5, 4)
    assert cfg.train_dataloader.batch_size == 64
    assert cfg.model.clothes_classifier.type == 'DLCRClothesClassifierHead'
    assert cfg.model.clothes_classifier.start_epoch == 25
    test = cfg.test_dataloader.dataset
    assert test.type == 'DLCRQueryVariantDataset' and test.num_variants == 6
    qpipe = cfg.query_generation.pipeline
    qgen = qpipe.generator
    assert (qgen.height, qgen.width, qgen.num_inference_steps) == \
        (384, 128, 10)
    assert qgen.pretrained_model_name_or_path == \
        gen.pretrained_model_name_or_path
    rr = cfg.test_evaluator.rerankers[0]
    assert rr.type == 'DLCRRefinementReranker' and rr.m == 5
    assert cfg.train_cfg.max_epochs == 60
    # the shared base and the dataset's fields compose into one whole:
    # the nested copies equal the top-level pieces
    assert test.variant_dir == qpipe.writer.out_dir
    assert pipe.source.mask_provider == cfg.mask_provider == \
        qpipe.source.mask_provider
    assert cfg.mask_provider.cache_dir == f'work_dirs/dlcr_data/{name}/masks'
    assert pipe.writer.out_dir == f'work_dirs/dlcr_data/{name}/train_k10'
    assert qpipe.writer.out_dir == f'work_dirs/dlcr_data/{name}/query_l6'
    assert qpipe.source.dataset.split == 'query'
    assert test.dataset.type == pipe.source.dataset.type == cfg.dataset_type
    # the variants are resized like the dataset's test images (the shared
    # base's 384x192 unless the dataset config sets its own)
    resize = [t for t in test.pipeline if t.type == 'ReIDResize']
    assert [tuple(t.size) for t in resize] == [tuple(cfg.img_size)]
    assert test.pipeline == cfg.variant_test_pipeline
    base = load_config(os.path.join(ROOT, 'configs', 'cal', f'{name}_cal.py'))
    assert 'generation' not in base
    assert base.train_dataloader.sampler.type == 'IdentitySampler'
    assert base.optim_wrapper.constructor == 'ReIDOptimWrapperConstructor'


def test_toy_configs():
    cfg = load_config(os.path.join(ROOT, 'configs', 'dlcr', 'toy_prcc_cal.py'))
    assert cfg.generation.pipeline.generator.type == 'RecolorInpainter'
    assert cfg.generation.pipeline.source.mask_provider.type == \
        'ToyWorldMaskProvider'
    assert cfg.query_generation.pipeline.generator.type == 'RecolorInpainter'
    assert cfg.train_dataloader.sampler.num_instances == 4
    gen = load_config(os.path.join(ROOT, 'configs', 'dlcr',
                                   'toy_prcc_cal_gen.py'))
    assert [s.name for s in gen.stages] == ['generate', 'train', 'test']
    assert gen.train_dataloader.sampler.progressive is False
    assert gen.test_evaluator.type == 'ReIDMetric'


def test_toy_ablation_table_uses_sample_std():
    from plugins.dlcr.toy_ablation import format_table
    table = format_table({'CAL baseline': [(10.0, 20.0), (12.0, 22.0)],
                          '+ refinement': []}, [0, 1], [50.0, 60.0])
    # sample std (ddof=1) of (10, 12) is 1.41; the population std would be 1.0
    assert '| CAL baseline | 11.0 +- 1.4 | 21.0 +- 1.4 |' in table
    assert '+ refinement' not in table
    assert 'mAP 55.0 +- 7.1' in table


def test_toy_ablation_options_load_with_every_config(tmp_path):
    """The main job's options are accepted by each config it runs (an option
    naming a key the config lacks is refused), and they reach the config."""
    from plugins.dlcr.toy_ablation import CONFIGS, ROOT, run_options
    from reidkit.apis import load_config
    data_dir = str(tmp_path / 'data')
    for _, config, _ in CONFIGS:
        if config is None:
            continue
        options = run_options(config, 'data/toy/x', 3, data_dir, epochs=2)
        cfg = load_config(osp.join(ROOT, config), options,
                          work_dir=str(tmp_path / 'wd'))
        assert cfg.randomness.seed == 3
        assert cfg.train_cfg.max_epochs == 2
        assert cfg.data_root == 'data/toy/x'
        assert ('dlcr_root' in options) == ('/dlcr/' in config)
        if 'dlcr_root' in options:
            assert cfg.dlcr_root == data_dir
