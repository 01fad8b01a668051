"""``tools/train.py configs/strong_vehicle/toy_cityflow_v2.py`` end to end:
two backbones and a camera model trained (1 epoch, tiny random-weight
models), features saved, the post-processing chain run; its final ranking
checked against the authors' steps recomputed from the saved files."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from plugins.strong_vehicle.postprocess import load_features
from plugins.strong_vehicle.stages import tracks_of

from . import authors_reference as ref

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
CONFIG = 'configs/strong_vehicle/toy_cityflow_v2.py'


def _train(work, data, *extra):
    return subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work,
         '--cfg-options', f'data_root={data}', 'train_cfg.max_epochs=1',
         *extra], cwd=ROOT, capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope='module')
def toy_cityflow(tmp_path_factory):
    out = tmp_path_factory.mktemp('sv_toy') / 'cityflow_v2'
    subprocess.run([sys.executable, 'tools/make_toy_data.py', 'cityflow_v2',
                    str(out), '--ids', '24', '--seed', '0', '--size',
                    '64x64'], check=True, cwd=ROOT, capture_output=True)
    return str(out)


# three tiny trainings and four runner starts: 11 minutes on the shared
# 2-core machine at load ~14 (not timed idle)
@pytest.mark.timeout(1800)
def test_every_stage_runs_and_the_chain_is_the_authors(toy_cityflow,
                                                       tmp_path):
    work = str(tmp_path / 'work')
    res = _train(work, toy_cityflow)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    result = json.load(open(osp.join(work, 'postprocess.json')))
    assert list(result['rows']) == ['baseline', '+ re-ranking',
                                    '+ orientation/camera', '+ tracklet',
                                    '+ ensemble']
    assert result['models'] == ['r18', 'r10'] and result['aux'] == ['camera']
    feats = {k: load_features(osp.join(work, k, 'feats.npz'))
             for k in ('r18', 'r10', 'camera')}
    main = feats['r18']
    assert len(main['q_names']) > 0 and len(main['g_names']) > 10
    np.testing.assert_allclose(np.linalg.norm(main['g_feats'], axis=1), 1,
                               rtol=1e-5)
    # the authors' chain on the saved features: track_aug -> re_ranking
    # with the camera distance inside (USE_VOC, ori weight 0 here) -> mean
    # -> rerank_indice_by_track
    tracks = tracks_of(main['g_track_ids'])
    assert len(tracks) > 3
    g_names = [osp.basename(n) for n in main['g_names']]
    track_names = [[g_names[i] for i in t] for t in tracks]
    # images in no track get their own (the authors' lookup needs one)
    tracked = {i for t in tracks for i in t}
    track_names += [[g_names[i]] for i in range(len(g_names))
                    if i not in tracked]
    cam = feats['camera']
    cam_full = ref.comput_distmat(*[torch.cat([
        torch.from_numpy(cam['q_feats']), torch.from_numpy(cam['g_feats'])])
        for _ in range(2)])[0].numpy()
    theirs = []
    for k in ('r18', 'r10'):
        qf = torch.from_numpy(feats[k]['q_feats'])
        gf = ref.track_aug(torch.from_numpy(feats[k]['g_feats']),
                           track_names, g_names)
        theirs.append(ref.re_ranking(qf, gf, 20, 6, 0.3, USE_VOC=True,
                                     cam_dist=cam_full,
                                     ori_dist=np.zeros_like(cam_full),
                                     dtype=np.float32))
    order = np.argsort(ref.ensemble(theirs), axis=1)
    theirs = ref.rerank_indice_by_track(order, g_names, track_names)
    saved = np.load(osp.join(work, 'postprocess_dist.npz'))
    np.testing.assert_array_equal(np.argsort(saved['ranked'], axis=1),
                                  theirs)
    # a second run finds every stage complete
    again = _train(work, toy_cityflow)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count('complete') >= 7
    assert 'done in' not in again.stdout
