"""GenerationPipeline in one process: plan, write, resume, provenance, errors."""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from synthgen_helpers import make_fake_prcc, write_config
from synthgen.apis import (build_pipeline, generation_complete,
                           generation_out_dir, run_generation)
from synthgen.manifest import read_done_units, read_manifest
from synthgen.pipeline import GenerationPipeline
from synthgen.sources import (IdentityListSource, PRCCSource, SourceError,
                              load_mask)
from synthgen.writer import PlanMismatchError

REQUIRED = {'path', 'pid', 'camid', 'clothes_id', 'modality', 'domain', 'unit',
            'variant', 'generator', 'prompt', 'seed', 'source', 'filters',
            'attributes', 'source_clothes', 'target_clothes'}


def test_prcc_source_labels(fake_prcc):
    recs = PRCCSource(fake_prcc).load()
    assert len(recs) == 3 * 3 * 2
    assert [r['key'] for r in recs] == sorted(r['key'] for r in recs)
    assert {r['pid'] for r in recs} == {0, 1, 2}
    assert {r['camid'] for r in recs} == {0, 1, 2}
    assert {r['clothes_id'] for r in recs} == set(range(6))
    for r in recs:  # A and B share an outfit, C has another
        same = [o for o in recs if o['pid'] == r['pid'] and
                (o['camid'] == 2) == (r['camid'] == 2)]
        assert {o['clothes_id'] for o in same} == {r['clothes_id']}
        assert r['attributes']['lower_type'] == 'trousers'
    mask = PRCCSource(fake_prcc).read(recs[0])['mask']
    assert set(np.unique(mask)) == {0, 3, 4, 5}     # skin (1) is not clothes


def test_run_resume_and_provenance(tmp_path, fake_prcc):
    out = tmp_path / 'out'
    cfg = Config.fromfile(write_config(tmp_path / 'cfg.py', '/nonexistent',
                                       '{work_dir}/synth'))
    cfg.merge_from_dict(dict(data_root=fake_prcc))   # like --cfg-options
    cfg.work_dir = str(out)
    assert generation_out_dir(cfg) == f'{out}/synth'
    assert not generation_complete(cfg)
    summary = run_generation(cfg, progress=False, print_summary=False)
    assert summary.units_total == 18 and summary.units_run == 18
    assert summary.requests == 54 and summary.complete
    synth = str(out / 'synth')
    recs = read_manifest(synth)
    assert len(recs) == summary.kept > 40
    done = read_done_units(synth)
    assert set(done) == set(range(18))
    assert sum(d['kept'] for d in done.values()) == len(recs)
    assert sum(sum(d['dropped'].values()) for d in done.values()) == 54 - len(recs)
    src_recs = {r['source']: r for r in PRCCSource(fake_prcc).load()}
    for r in recs:
        assert REQUIRED <= set(r), REQUIRED - set(r)
        assert r['domain'] == 1 and r['clothes_id'] == -1
        assert r['seed'] == (7 + r['unit']) * 3 + r['variant']
        assert r['generator'] == 'RecolorInpainter'
        assert r['filters'] == ['SizeAspectFilter', 'PHashDuplicateFilter']
        src = src_recs[r['source']]
        assert (r['pid'], r['camid']) == (src['pid'], src['camid'])
        assert r['source_clothes'] == src['clothes_id']
        assert r['target_clothes'] != r['source_clothes']
        assert r['attributes']['upper_color'] in r['prompt']
        # pixels outside the clothes mask are the source's, exactly
        img = np.asarray(Image.open(osp.join(synth, r['path'])))
        source = np.asarray(Image.open(r['source']).convert('RGB'))
        mask = load_mask(src['mask'])
        clothes = np.isin(mask, (3, 4, 5))
        assert (img[~clothes] == source[~clothes]).all()
        assert (img[clothes] != source[clothes]).any()
    assert generation_complete(cfg)

    again = run_generation(cfg, progress=False, print_summary=False)
    assert again.units_run == 0 and again.complete
    assert read_manifest(synth) == recs

    cfg.generation.pipeline.num_variants = 2
    assert not generation_complete(cfg)
    with pytest.raises(PlanMismatchError, match='another generation plan'):
        run_generation(cfg, progress=False, print_summary=False)


def test_text_only_sources(tmp_path):
    lib = tmp_path / 'lib.csv'
    lib.write_text('pid,color,type\n5,red,sedan\n6,blue,suv\n')

    def gen(requests):   # any callable works as a generator object
        return [dict(image=np.full((8, 8, 3), r['seed'], np.uint8), mask=None,
                     meta={}) for r in requests]

    pipe = GenerationPipeline(
        source=dict(type='PromptLibrarySource', library=str(lib)),
        prompt_builder=dict(type='AttributeTemplatePrompt',
                            template='a {color} {type}'),
        generator=gen, writer=dict(out_dir=str(tmp_path / 'o'), img_format='png',
                                   fsync=False), num_variants=2)
    summary = pipe.run(0, 1, progress=False)
    recs = read_manifest(str(tmp_path / 'o'))
    assert summary.kept == 4
    assert [(r['pid'], r['prompt']) for r in recs] == [
        (5, 'a red sedan'), (5, 'a red sedan'), (6, 'a blue suv'),
        (6, 'a blue suv')]
    assert all(r['source'] is None for r in recs)
    ids = IdentityListSource(2, cameras=(1, 3))
    pipe = GenerationPipeline(source=ids, generator=gen, num_variants=3,
                              writer=dict(out_dir=str(tmp_path / 'i'),
                                          fsync=False))
    pipe.run(0, 1, progress=False)
    recs = read_manifest(str(tmp_path / 'i'))
    assert [r['camid'] for r in recs] == [1, 3, 1] * 2
    assert [r['prompt'] for r in recs] == [''] * 6


def test_bad_inputs_are_named(tmp_path, fake_prcc):
    with pytest.raises(SourceError, match='does not exist'):
        PRCCSource(str(tmp_path / 'missing')).load()
    bad = make_fake_prcc(str(tmp_path / 'bad'), n_pids=1, per_cam=1)
    os.rename(osp.join(bad, 'rgb/train/001/C_000.jpg'),
              osp.join(bad, 'rgb/train/001/X_000.jpg'))
    with pytest.raises(SourceError, match=r'X_000.jpg.*expected layout'):
        PRCCSource(bad).load()
    os.remove(osp.join(fake_prcc, '_toy_annotations/masks/rgb/train/001/A_000.png'))
    with pytest.raises(SourceError, match='A_000.png'):
        PRCCSource(fake_prcc, missing_mask='error').load()
    recs = PRCCSource(fake_prcc).load()      # default: a rough box mask
    assert recs[0]['mask'] == 'box'
    cfg = Config(dict(generation=dict(pipeline=dict(
        source=dict(type='PRCCSource', data_root=fake_prcc),
        generator=dict(type='RecolorInpainer'),
        writer=dict(out_dir=str(tmp_path / 'x'))))))
    with pytest.raises(KeyError, match='RecolorInpainter'):   # closest name
        run_generation(cfg, progress=False, print_summary=False)
    with pytest.raises(KeyError, match='no `generation` section'):
        build_pipeline(Config(dict(model=dict())))
    with pytest.raises(KeyError, match='num_variant'):
        build_pipeline(Config(dict(generation=dict(pipeline=dict(
            source=dict(type='PRCCSource'), generator=dict(type='X'),
            writer=dict(out_dir='x'), num_variant=2)))))


def test_deterministic_generator_is_reported(tmp_path, caplog):
    """K identical outputs per unit: the user is told once, not silently
    left with 1 of K images after the near-duplicate filter."""
    import logging
    from synthgen.pipeline import GenerationPipeline

    class Constant:
        def __call__(self, requests):
            return [dict(image=np.full((8, 4, 3), 7, np.uint8))
                    for _ in requests]

    class Source:
        def load(self):
            return [dict(key=str(i), source=None, pid=i, camid=0,
                         clothes_id=-1, modality=0) for i in range(3)]

        def read(self, rec):
            return {}

        def describe(self):
            return dict(type='Source')

    pipe = GenerationPipeline(source=Source(), generator=Constant(),
                              writer=dict(out_dir=str(tmp_path / 'o'),
                                          img_format='png', fsync=False),
                              num_variants=4)
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        pipe.run(0, 1, progress=False)
    finally:
        logger.removeHandler(handler)
    same = [m for m in messages if 'identical images' in m]
    assert len(same) == 1 and 'keep only 1 of the 4' in same[0]
