"""The live generator: the toy renderer draws only the settings the search
picked; the live config chains probe -> search -> render -> the AOST path."""
import json
import os.path as osp

import pytest

from plugins.aost.live import ToyFineGPRRenderStage, selection_grid, viewpoint_code
from reidkit.datasets.finegpr import viewpoint_degrees
from reidkit.stages import StageRunner, build_stages
from reidkit.utils.config import load_config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def test_viewpoint_code_inverts_the_release_table():
    assert [viewpoint_code(viewpoint_degrees(c)) for c in range(1, 37)] == \
        list(range(1, 37))
    assert selection_grid(dict(viewpoint=[270, 0], weather=[4],
                               illumination=[6, 5])) == \
        dict(viewpoints=[19, 28], weathers=[4], illuminations=[5, 6])
    with pytest.raises(ValueError, match='10-degree'):
        viewpoint_code(95)
    with pytest.raises(ValueError, match='weather'):
        selection_grid(dict(viewpoint=[0], illumination=[1]))


def _render(tmp_path, selection):
    sel = tmp_path / 'selection.json'
    sel.write_text(json.dumps(selection))
    st = ToyFineGPRRenderStage(name='render', cfg=None, work_dir=str(tmp_path),
                               out_root=str(tmp_path / 'r'), num_ids=6,
                               size=(32, 16), selection_file=str(sel))
    res = st.run()
    from plugins.aost.stages import finegpr_records
    return res, finegpr_records(str(tmp_path / 'r'))


def test_renders_only_the_selected_settings(tmp_path):
    res, recs = _render(tmp_path, dict(viewpoint=[0, 90], weather=[4],
                                       illumination=[5, 6]))
    assert res == dict(images=24, per_id=4)
    cells = {tuple(r['attributes'][k] for k in
                   ('viewpoint', 'weather', 'illumination')) for r in recs}
    assert cells == {(v, 4, i) for v in (0, 90) for i in (5, 6)}
    assert len(recs) == 24 and len({r['pid'] for r in recs}) == 6
    # another selection replaces the images (no stale settings stay)
    res, recs = _render(tmp_path, dict(viewpoint=[180], weather=[1],
                                       illumination=[2]))
    assert res['images'] == 6
    assert {(r['attributes']['viewpoint'], r['attributes']['weather'])
            for r in recs} == {(180, 1)}


def test_live_config_renders_after_the_search(tmp_path):
    cfg = load_config(osp.join(ROOT, 'configs/aost/toy_live_market_ide.py'),
                      {'num_ids': 20}, work_dir=str(tmp_path / 'w'))
    names = [s.name for s in cfg.stages]
    assert names == ['probe', 'distances', 'regress', 'search', 'render',
                     'select', 'train_translator', 'translate', 'train', 'test']
    w = str(tmp_path / 'w')
    assert cfg.stages[1].source_root == w + '/probe'
    assert cfg.stages[5].source_root == w + '/rendered'
    assert cfg.stages[4].num_ids == 20
    deps = {p.stage.name: p.depends
            for p in StageRunner(build_stages(cfg), w).plan()}
    assert deps['distances'] == ['probe'] and deps['render'] == ['search']
    assert 'render' in deps['select'] and 'search' in deps['select']
    assert 'render' in deps['translate']  # reads the rendered root
