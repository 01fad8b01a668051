"""Renderer, generator, determinism, markers, knobs and the CLI."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from synthgen.registry import GENERATORS
from synthgen.toyworld import Knobs, ToyWorldRenderer, load_summary, make_dataset
from synthgen.toyworld import output, person, vehicle, world
from synthgen.toyworld.vocab import COLOR_RGB, COLOR_NAMES, VEHICLE_MARKS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def tree_bytes(base):
    out = {}
    for dp, _, fn in os.walk(base):
        for f in fn:
            if f != '.complete':
                p = osp.join(dp, f)
                out[osp.relpath(p, base)] = open(p, 'rb').read()
    return out


def test_same_seed_same_bytes_any_workers(tmp_path):
    kw = dict(num_ids=14, size=(64, 32))
    a = make_dataset('market1501', str(tmp_path / 'a'), seed=3, workers=1, **kw)
    b = make_dataset('market1501', str(tmp_path / 'b'), seed=3, workers=2, **kw)
    c = make_dataset('market1501', str(tmp_path / 'c'), seed=4, **kw)
    assert a['num_images'] >= 4 * output.CHUNK      # the forked-worker path ran
    ta, tb, tc = (tree_bytes(tmp_path / k) for k in 'abc')
    assert ta == tb
    assert a['splits'] == b['splits']
    assert ta != tc and c['num_images'] > 0


def test_complete_marker_reuse_and_overwrite(tmp_path):
    out = tmp_path / 'm'
    s1 = make_dataset('vc_clothes', str(out), num_ids=6, size='64x32')
    assert load_summary(str(out)) == s1
    stamp = os.path.getmtime(out / '.complete')
    s2 = make_dataset('vc_clothes', str(out), num_ids=6, size='64x32')   # reused
    assert s2 == s1 and os.path.getmtime(out / '.complete') == stamp
    with pytest.raises(FileExistsError, match='overwrite'):
        make_dataset('vc_clothes', str(out), num_ids=7, size='64x32')
    # a killed run: files but no marker -> not complete, refused without overwrite
    os.remove(out / '.complete')
    assert load_summary(str(out)) is None
    with pytest.raises(FileExistsError):
        make_dataset('vc_clothes', str(out), num_ids=6, size='64x32')
    s3 = make_dataset('vc_clothes', str(out), num_ids=6, size='64x32', overwrite=True)
    assert s3['splits'] == s1['splits']


def test_bad_arguments_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match='unknown toy dataset kind'):
        make_dataset('market', str(tmp_path / 'x'))
    with pytest.raises(ValueError, match='HxW'):
        make_dataset('prcc', str(tmp_path / 'x'), size='big')
    with pytest.raises(ValueError, match='unknown toy-world knob'):
        make_dataset('prcc', str(tmp_path / 'x'), knobs=dict(hardness=2))


def test_lookalike_knob_copies_outfits(tmp_path):
    make_dataset('market1501', str(tmp_path / 'l'), num_ids=8, size='64x32',
                 knobs=dict(lookalike_frac=1.0))
    keys = ('upper_color', 'upper_pattern', 'sleeve', 'lower_type', 'lower_color',
            'shoes_color', 'hat')
    outfit = {}
    with open(tmp_path / 'l' / '_toy_annotations' / 'attributes.jsonl') as f:
        for r in map(json.loads, f):
            if r['pid'] > 0:
                outfit[r['pid']] = tuple(r['attributes'][k] for k in keys)
    values = list(outfit.values())
    assert all(values.count(v) >= 2 for v in values)


def _person_batch(n, attrs, size=(128, 64), strength=0.0):
    gen = ToyWorldRenderer('person', size=size, knobs=dict(
        camera_strength=strength, occlusion_prob=0.0, color_jitter=0.0))
    return gen([dict(seed=i, attributes=dict(attrs)) for i in range(n)])


def test_part_masks_are_stacked_like_a_body():
    outs = _person_batch(12, dict(viewpoint='front', hat='none', bag='none',
                                  hair_style='short', lower_type='trousers'))
    for o in outs:
        m = o['mask']
        rows = np.arange(m.shape[0])[:, None]
        mean_row = {k: (rows * (m == k)).sum() / max(1, (m == k).sum()) for k in (2, 3, 4, 5)}
        assert all((m == k).sum() > 0 for k in (1, 2, 3, 4, 5))
        assert mean_row[2] < mean_row[3] < mean_row[4] < mean_row[5]
        assert 0.1 < (m > 0).mean() < 0.6


def test_garment_pixels_have_the_requested_colour():
    for name in ('red', 'blue', 'green', 'yellow', 'white', 'black'):
        outs = _person_batch(3, dict(upper_color=name, upper_pattern='plain',
                                     viewpoint='front', weather='neutral',
                                     illumination='noon', bag='none'))
        for o in outs:
            img = np.asarray(o['image']).astype(np.float32) / 255
            mean = img[o['mask'] == 3].mean(axis=0)
            nearest = COLOR_NAMES[int(np.argmin(((COLOR_RGB - mean) ** 2).sum(1)))]
            assert nearest == name, (name, mean)
            assert o['meta']['attributes']['upper_color'] == name


def test_infrared_is_grey_and_skin_is_warm():
    outs = _person_batch(6, dict(modality='infrared', viewpoint='front', hat='none'))
    for o in outs:
        a = np.asarray(o['image']).astype(int)
        assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()
        m = o['mask']
        assert a[..., 0][m == 1].mean() > a[..., 0][m == 0].mean() + 40
        assert o['meta']['modality'] == 1


def test_lookalike_vehicles_differ_only_by_marks():
    rng = np.random.default_rng(0)
    veh = vehicle.sample_vehicles(rng, 12, group_size=3)
    cams = world.sample_cameras(rng, 1, kind='vehicle')
    for g in range(4):
        a, b = np.nonzero(veh['group'] == g)[0][:2]
        for view in range(4):
            rows = np.array([a, b])
            p = {k: v[rows] for k, v in veh.items()}
            p.update(view=np.full(2, view), facing=np.zeros(2, int),
                     scale=np.full(2, 0.9, np.float32), cx=np.full(2, 0.5, np.float32),
                     cy=np.full(2, 0.54, np.float32))
            slot = vehicle.rasterize(p, 96, 96)
            pal = vehicle.palette(p)
            col = pal[np.arange(2)[:, None, None], slot]
            lab = vehicle.SLOT_LABEL[slot]
            differ = (np.abs(col[0] - col[1]).max(-1) > 1e-6)
            assert (lab[0] == lab[1])[~((lab[0] == 13) | (lab[1] == 13))].all()
            assert not (differ & (lab[0] != 13) & (lab[1] != 13)).any()
        assert (veh['marks'][a] != veh['marks'][b]).any()
        for k in ('vtype', 'brand', 'era', 'color'):
            assert veh[k][a] == veh[k][b]


def test_person_rasterizer_matches_single_image_rendering():
    """Batch rendering equals rendering each image alone (no cross-talk)."""
    rng = np.random.default_rng(5)
    ids = person.sample_identities(rng, 4)
    outs = person.sample_outfits(rng, 4)
    cams = world.sample_cameras(rng, 2, modality=np.array([0, 1]))
    jit = world.sample_jitter(rng, np.array([0, 1, 0, 1]), cams, Knobs(occlusion_prob=0.5))
    rows = np.arange(4)
    p = world.gather(rows, [(ids, rows), (outs, rows), (cams, np.array([0, 1, 0, 1])),
                            (jit, rows)])
    bank = world.build_bank(cams, 64, 32)
    img, lab = world.render_batch(p, 64, 32, bank, np.array([0, 1, 0, 1]))
    for i in range(4):
        q = {k: v[i:i + 1] for k, v in p.items()}
        im1, lb1 = world.render_batch(q, 64, 32, bank, np.array([i % 2]))
        assert np.array_equal(im1[0], img[i]) and np.array_equal(lb1[0], lab[i])


def test_generator_builds_from_registry_and_honours_requests():
    gen = GENERATORS.build(dict(type='ToyWorldRenderer', kind='person', size=(64, 32)))
    reqs = [dict(seed=1, attributes=dict(pid=4, clothes_id=0, upper_color='red',
                                         lower_type='skirt', viewpoint='back')),
            dict(seed=2, attributes=dict(pid=4, clothes_id=0, upper_color='red',
                                         lower_type='skirt', viewpoint='back'))]
    out = gen(reqs)
    assert len(out) == 2
    for o in out:
        assert isinstance(o['image'], Image.Image) and o['image'].size == (32, 64)
        assert o['mask'].shape == (64, 32) and o['mask'].dtype == np.uint8
        a = o['meta']['attributes']
        assert (a['upper_color'], a['lower_type'], a['viewpoint']) == ('red', 'skirt', 'back')
    ids = [{k: o['meta']['attributes'][k] for k in ('skin_tone', 'hair_style', 'build')}
           for o in out]
    assert ids[0] == ids[1]                       # same pid -> same body
    again = gen(reqs[:1])[0]
    assert np.array_equal(np.asarray(again['image']), np.asarray(out[0]['image']))
    with pytest.raises(ValueError, match='unknown attribute'):
        gen([dict(seed=0, attributes=dict(shirt='red'))])
    with pytest.raises(ValueError, match='upper_color'):
        gen([dict(seed=0, attributes=dict(upper_color='teal'))])
    vgen = GENERATORS.build(dict(type='ToyWorldRenderer', kind='vehicle', size=(64, 64)))
    v = vgen([dict(seed=0, attributes=dict(vehicle_type='bus', color='yellow',
                                           marks=['roof_rack'], viewpoint='side'))])[0]
    assert v['meta']['attributes']['vehicle_type'] == 'bus'
    assert v['meta']['attributes']['marks'] == ['roof_rack']
    assert set(np.unique(v['mask'])) <= {0, 10, 11, 12, 13}
    assert set(VEHICLE_MARKS) >= set(v['meta']['attributes']['marks'])


def test_cli_writes_and_reports(tmp_path):
    out = tmp_path / 'cli'
    r = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'make_toy_data.py'), 'ltcc',
                        str(out), '--ids', '6', '--seed', '2', '--size', '64x32'],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert 'ltcc:' in r.stdout and 'query' in r.stdout and 'done in' in r.stdout
    assert (out / '.complete').is_file()
    r = subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'make_toy_data.py'), 'ltcc',
                        str(out), '--ids', '7'], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and 'overwrite' in r.stderr


def test_registry_finds_the_renderer_without_importing_it():
    code = ("from synthgen.registry import GENERATORS\n"
            "g = GENERATORS.build(dict(type='ToyWorldRenderer', kind='vehicle', size=(32, 32)))\n"
            "print(g([dict(seed=0)])[0]['image'].size)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert '(32, 32)' in r.stdout


def test_replay_plan_gives_the_written_dataset_and_its_cameras(tmp_path):
    from synthgen.toyworld import replay_plan
    out = str(tmp_path / 'sysu')
    make_dataset('sysu_mm01', out, num_ids=6, seed=1, size=(64, 32), workers=1)
    plan = replay_plan(out)
    # the same images: the replayed render of a few records is what was written
    for i in (0, len(plan) // 2, len(plan) - 1):
        rel = plan.records[i]['paths'][0]
        img, _, _ = plan.render(np.array([i]))
        disk = np.asarray(Image.open(osp.join(out, rel)).convert('RGB'), np.float32)
        assert np.abs(disk - img[0].astype(np.float32)).mean() < 3.0, rel
        other = np.asarray(Image.open(osp.join(
            out, plan.records[(i + 7) % len(plan)]['paths'][0])).convert('RGB'), np.float32)
        assert np.abs(disk - other).mean() > 6.0
    # camera ids of the files -> their rows; SYSU-MM01's 3 and 6 are infrared
    assert {c: int(plan.camera_row(c)['modality'][0]) for c in range(1, 7)} == {
        1: 0, 2: 0, 3: 1, 4: 0, 5: 0, 6: 1}
    with pytest.raises(KeyError, match='camera id 9'):
        plan.camera_row(9)
    # a renderer given cameras films a request of that camid with that camera
    row = plan.camera_row(3)
    gen = ToyWorldRenderer('person', size=(64, 32), cameras={3: row})
    tabs, _ = gen._one(dict(seed=5, attributes=dict(camid=3)))
    for k, v in row.items():
        assert np.array_equal(tabs['cam'][k], v), k
    tabs, _ = gen._one(dict(seed=5, attributes=dict(camid=4)))
    assert tabs['cam']['bg_seed'][0] != row['bg_seed'][0]
    with pytest.raises(FileNotFoundError, match='complete'):
        replay_plan(str(tmp_path))
