"""The DLCR configs parse, inherit the CAL baselines and hold the paper's settings."""
import os

import pytest
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
DATASETS = ['prcc', 'ltcc', 'vc_clothes', 'ccvid', 'last']


@pytest.mark.parametrize('name', DATASETS)
def test_paper_configs(name):
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'dlcr',
                                       f'{name}_cal.py'))
    assert cfg.data_root == f'data/{name}'
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
    qgen = test.generation.generator
    assert (qgen.height, qgen.width, qgen.num_inference_steps) == \
        (384, 128, 10)
    rr = cfg.test_evaluator.rerankers[0]
    assert rr.type == 'DLCRRefinementReranker' and rr.m == 5
    assert cfg.train_cfg.max_epochs == 60
    # the shared base and the dataset's fields compose into one whole:
    # the nested copies equal the top-level pieces
    assert test.generation == cfg.query_generation
    assert pipe.source.mask_provider == cfg.mask_provider == \
        test.generation.source.mask_provider
    assert cfg.mask_provider.cache_dir == f'work_dirs/dlcr_data/{name}/masks'
    assert pipe.writer.out_dir == f'work_dirs/dlcr_data/{name}/train_k10'
    assert test.generation.writer.out_dir == \
        f'work_dirs/dlcr_data/{name}/query_l6'
    # the variants are resized like the dataset's test images (the shared
    # base's 384x192 unless the dataset config sets its own)
    resize = [t for t in test.pipeline if t.type == 'ReIDResize']
    assert [tuple(t.size) for t in resize] == [tuple(cfg.img_size)]
    assert test.pipeline == cfg.variant_test_pipeline
    base = Config.fromfile(os.path.join(ROOT, 'configs', 'cal',
                                        f'{name}_cal.py'))
    assert 'generation' not in base
    assert base.train_dataloader.sampler.type == 'IdentitySampler'
    assert base.optim_wrapper.constructor == 'ReIDOptimWrapperConstructor'


def test_toy_configs():
    cfg = Config.fromfile(os.path.join(ROOT, 'configs', 'dlcr',
                                       'toy_prcc_cal.py'))
    assert cfg.generation.pipeline.generator.type == 'RecolorInpainter'
    assert cfg.generation.pipeline.source.mask_provider.type == \
        'ToyWorldMaskProvider'
    gen = Config.fromfile(os.path.join(ROOT, 'configs', 'dlcr',
                                       'toy_prcc_cal_gen.py'))
    assert gen.train_dataloader.sampler.progressive is False
    assert gen.test_evaluator.type == 'ReIDMetric'


def test_toy_ablation_helpers():
    from plugins.dlcr.toy_ablation import _retarget, format_table
    cfg = dict(a='work_dirs/dlcr_data/toy_prcc/train_k10',
               b=[dict(data_root='data/toy/prcc')], c=('x', 3))
    out = _retarget(_retarget(cfg, 'work_dirs/dlcr_data/toy_prcc', '/w/d'),
                    'data/toy/prcc', '/t/prcc')
    assert out == dict(a='/w/d/train_k10', b=[dict(data_root='/t/prcc')],
                       c=('x', 3))
    table = format_table({'CAL baseline': [(10.0, 20.0), (12.0, 22.0)],
                          '+ refinement': []}, [0, 1], [50.0, 60.0])
    assert '| CAL baseline | 11.0 +- 1.0 | 21.0 +- 1.0 |' in table
    assert '+ refinement' not in table
    assert 'mAP 55.0 +- 5.0' in table
