"""The toy ablation's pieces: prompt parsing, style estimate, the toy generator's
failures removed by the real filter classes, FID features, the table."""
import json
import os.path as osp

import numpy as np
import pytest

from plugins.vehicle_diff.library import prompt_of, toy_library
from plugins.vehicle_diff.toy import (BASE_STYLE, ToyCLIPColorFilter, ToyVehicleDiffusion,
                                      estimate_style, parse_toy_prompt)
from synthgen.filters.clip_attribute import CLIPAttributeFilter
from synthgen.filters.detection import DetectionCropFilter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))


def test_prompt_names_the_vehicle():
    row = dict(brand='bexa', model='hauler', year=1998, body_style='pickup',
               color='golden')
    assert parse_toy_prompt(prompt_of(row)) == dict(
        color='golden', brand='bexa', vehicle_type='pickup', era='classic')
    assert parse_toy_prompt('a 2019 car') == dict(era='recent')


def test_style_estimate_counts_with_smoothing():
    ann = [dict(background='road', illumination='noon', weather='sunny',
                viewpoint='side'),
           dict(background='road', illumination='dusk', weather='rain',
                viewpoint='front')]
    mask = np.zeros((10, 20), np.uint8)
    mask[2:6, 0:15] = 10                       # box 15/20 wide, 4/10 high
    s = estimate_style(ann, [mask], smoothing=0.5)
    assert s['background']['road'] == pytest.approx(2.5 / (2 + 5 * 0.5))
    assert s['background']['bridge'] == pytest.approx(0.5 / 4.5)
    assert s['viewpoint']['side'] == pytest.approx(1.5 / 4)
    assert s['scale'][0] == pytest.approx(0.75)
    assert sum(s['weather'].values()) == pytest.approx(1.0)


def _gen(failure, n=6, style=None):
    rows = toy_library(3, seed=0)
    gen = ToyVehicleDiffusion(size=(96, 96), style=style,
                              failures={failure: 1.0} if failure else {})
    reqs = [dict(seed=i, pid=i % 3, prompt=prompt_of(rows[i % 3]))
            for i in range(n)]
    return rows, reqs, gen(reqs)


def test_generator_draws_the_prompt_in_its_style():
    rows, reqs, outs = _gen(None)
    for r, o in zip(reqs, outs):
        drawn = o['meta']
        assert drawn['failure'] == 'none' and drawn['adapter'] == 'base'
        assert drawn['drawn_color'] == rows[r['pid']]['color']
        assert drawn['background'] in BASE_STYLE['background']
        assert drawn['illumination'] in BASE_STYLE['illumination']
    style = dict(BASE_STYLE, background={'highway': 1.0})
    _, _, outs = _gen(None, 2, style)
    assert {o['meta']['background'] for o in outs} == {'highway'}
    assert outs[0]['meta']['adapter'] == 'target'


def test_detection_filter_removes_empty_and_partial_vehicles():
    det = DetectionCropFilter(backend='mask', model=dict(car=[10, 11, 12, 13]))
    for failure, reason in (('empty', 'no car/truck'),
                            ('partial', 'box <= 250 px (at 1024)')):
        _, _, outs = _gen(failure)
        for o in outs:
            res = det(dict(image=np.asarray(o['image']), mask=o['mask']))
            assert (res.keep, res.reason) == (False, reason), failure
    # vehicles drawn whole and large enough (the target's framing) are cropped
    _, _, outs = _gen(None, style=dict(BASE_STYLE, scale=[0.86, 0.01]))
    for o in outs:
        res = det(dict(image=np.asarray(o['image']), mask=o['mask']))
        ys, xs = np.nonzero(o['mask'] >= 10)
        assert res.keep
        assert res.image.shape[:2] == (ys.max() + 1 - ys.min(),
                                       xs.max() + 1 - xs.min())


def test_colour_filter_is_clip_attribute_filter_with_a_toy_judge():
    flt = ToyCLIPColorFilter(top_k=1)
    assert isinstance(flt, CLIPAttributeFilter)
    img = np.full((40, 40, 3), 97, np.uint8)      # road-grey border
    img[10:30, 10:30] = (180, 25, 30)              # a red body
    assert flt.predict(img, 'color')[0] == 'red'
    keep = flt(dict(image=img, request=dict(attributes=dict(color='red'))))
    drop = flt(dict(image=img, request=dict(attributes=dict(color='blue'))))
    assert keep.keep and not drop.keep
    assert drop.reason == "color: CLIP sees 'red', prompt says 'blue'"
    # the same body under a darker light (everything x 0.5) still reads red
    assert flt.predict((img * 0.5).astype(np.uint8), 'color')[0] == 'red'


def test_wrong_colours_are_mostly_removed():
    rows, reqs, outs = _gen('wrong_color', n=12,
                            style=dict(BASE_STYLE, scale=[0.86, 0.01]))
    det = DetectionCropFilter(backend='mask', model=dict(car=[10, 11, 12, 13]))
    flt = ToyCLIPColorFilter(top_k=2)
    kept = 0
    for r, o in zip(reqs, outs):
        assert o['meta']['drawn_color'] != rows[r['pid']]['color']
        crop = det(dict(image=np.asarray(o['image']), mask=o['mask'])).image
        kept += flt(dict(image=crop, request=dict(
            attributes=dict(color=rows[r['pid']]['color'])))).keep
    assert kept <= 3


def test_style_stage_and_fid_stage_on_a_toy_target(toy_veri, tmp_path):
    from mmengine.config import Config

    import plugins.vehicle_diff  # noqa: F401
    from plugins.vehicle_diff.target import (select_target_images,
                                             target_train_images)
    from reidkit.stages import STAGES
    ds = dict(type='VeRi776', data_root=toy_veri, split='train')
    cfg = Config(dict(work_dir=str(tmp_path)))
    out = str(tmp_path / 'style.json')
    stage = STAGES.build(dict(type='ToyStyleFinetuneStage', name='finetune',
                              cfg=cfg, dataset=ds, out_file=out,
                              fraction=0.1, seed=3))
    stage.run()
    with open(out) as f:
        style = json.load(f)
    chosen = select_target_images(target_train_images(ds), 0.1, 3)
    assert style['images'] == [osp.relpath(p, toy_veri) for p in chosen]
    with open(osp.join(toy_veri, '_toy_annotations', 'attributes.jsonl')) as f:
        ann = {d['path']: d['attributes'] for d in map(json.loads, f)}
    n = len(chosen)
    roads = sum(ann[r]['background'] == 'road' for r in style['images'])
    assert style['background']['road'] == pytest.approx((roads + 0.5)
                                                        / (n + 2.5))
    # FID (random-CNN features) of the training images against themselves: 0
    gen_dir = tmp_path / 'gen'
    gen_dir.mkdir()
    with open(gen_dir / 'manifest.rank0.jsonl', 'w') as f:
        for p in sorted(target_train_images(ds)):
            f.write(json.dumps(dict(path=osp.relpath(p, gen_dir), pid=0,
                                    camid=0, domain=1, unit=0, generator='x',
                                    prompt='', seed=0)) + '\n')
    fid = STAGES.build(dict(type='FIDStage', name='fid', cfg=cfg, dataset=ds,
                            generated_dir=str(gen_dir),
                            out_file=str(tmp_path / 'fid.json'),
                            features='random_cnn', image_size=(32, 32)))
    res = fid.run()
    assert res['fid'] == pytest.approx(0.0, abs=1e-6)
    assert res['real'] == res['generated'] == len(target_train_images(ds))


def test_toy_config_rows_resolve():
    from plugins.vehicle_diff.toy_ablation import CONFIG, ROWS
    from reidkit.utils.config import load_config
    kinds = {}
    for row, (_, synthetic, extra) in ROWS.items():
        cfg = load_config(CONFIG, dict(extra))
        loader = cfg.train_dataloader
        kinds[row] = (loader.sampler['type'],
                      [d['type'] for d in loader.dataset['datasets']])
        gen = cfg.stages[1]['pipeline']
        assert gen['prompt_builder']['template'] == (
            'a {color} {year} {brand} {model} {body_style} driving down the '
            'road.')
        assert gen['generator']['style'] == (
            None if row == 'neither' else cfg.style_file)
        if synthetic:
            assert len(gen['filters']) == (
                2 if synthetic == 'target_filtered' else 0)
    assert kinds['real + synthetic B'] == (
        'BalancedDomainSampler', ['VeRi776', 'SyntheticDataset'])
    assert kinds['real + synthetic D'] == (
        'RandomDomainMixSampler', ['VeRi776', 'SyntheticDataset'])
    assert kinds['real'] == ('IdentitySampler', ['VeRi776'])
    assert kinds['neither'] == ('IdentitySampler', ['SyntheticDataset'])


def test_tables_print_mean_and_sample_std():
    from plugins.vehicle_diff.toy_ablation import format_tables
    runs = [dict(R1=10.0, mAP=20.0, fid=1.0, ids=5, images=30,
                 failures=dict(none=28, wrong_color=2)),
            dict(R1=12.0, mAP=22.0, fid=2.0, ids=5, images=32,
                 failures=dict(none=30, empty=2))]
    text = format_tables({'neither': runs, 'real': runs[:1],
                          '+ fine-tuning': runs}, [0, 1])
    # sample std (ddof=1) of (10, 12) is 1.41
    assert '| neither | 5 +- 0 | 31 +- 1 | 11.0 +- 1.4 | 21.0 +- 1.4 | ' \
        '1.50 +- 0.71 |' in text
    assert '| real (1 of 2 seeds) | 10.0 +- 0.0 | 20.0 +- 0.0 |' in text
    assert '+ fine-tuning: none 58, wrong_color 2, partial 0, empty 2' in text


def test_parallel_tasks_keep_a_seed_synthetic_rows_together():
    """--jobs: a seed's Table V rows in one process (they write the
    generated sets), the D / B rows after them (by task index), the real
    row free."""
    from plugins.vehicle_diff.toy_ablation import ROWS, parallel_tasks
    tasks = parallel_tasks([0, 1], list(ROWS))
    v = ['neither', '+ fine-tuning', '+ fine-tuning + filtering']
    assert tasks == [
        (0, v, None), (0, ['real'], None), (0, ['real + synthetic D'], 0),
        (0, ['real + synthetic B'], 0),
        (1, v, None), (1, ['real'], None), (1, ['real + synthetic D'], 4),
        (1, ['real + synthetic B'], 4)]
    # without the synthetic rows nothing waits
    assert parallel_tasks([2], ['real', 'real + synthetic B']) == [
        (2, ['real'], None), (2, ['real + synthetic B'], None)]
