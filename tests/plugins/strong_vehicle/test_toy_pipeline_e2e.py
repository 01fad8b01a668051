"""``tools/train.py configs/strong_vehicle/toy_cityflow_v2.py`` end to end:
two backbones, a camera model and an orientation model (on the toy
VehicleX) trained (1 epoch, tiny random-weight models at 32x32), features
saved, the post-processing chain run; its final ranking checked against the
authors' steps recomputed from the saved files."""
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
    real, synthetic = data
    return subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work,
         '--cfg-options', f'data_root={real}', f'synthetic_root={synthetic}',
         'img_size=(32,32)', 'train_cfg.max_epochs=1', *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope='module')
def toy_cityflow(tmp_path_factory):
    from synthgen.toyworld import make_dataset
    out = tmp_path_factory.mktemp('sv_toy')
    make_dataset('cityflow_v2', str(out / 'cityflow_v2'), num_ids=24,
                 seed=0, size='32x32')
    make_dataset('vehiclex', str(out / 'vehiclex'), num_ids=6, seed=0,
                 size='32x32')
    return str(out / 'cityflow_v2'), str(out / 'vehiclex')


# four tiny trainings (3 iterations each), one tools/train.py process for
# all nine stages and one for the re-run
@pytest.mark.timeout(900)
def test_every_stage_runs_and_the_chain_is_the_authors(toy_cityflow,
                                                       tmp_path):
    work = str(tmp_path / 'work')
    res = _train(work, toy_cityflow)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    result = json.load(open(osp.join(work, 'postprocess.json')))
    assert list(result['rows']) == ['baseline', '+ re-ranking',
                                    '+ orientation/camera', '+ tracklet',
                                    '+ ensemble']
    assert result['models'] == ['r18', 'r10']
    assert result['aux'] == ['orientation', 'camera']
    feats = {k: load_features(osp.join(work, k, 'feats.npz'))
             for k in ('r18', 'r10', 'camera', 'orientation')}
    main = feats['r18']
    assert len(main['q_names']) > 0 and len(main['g_names']) > 10
    np.testing.assert_allclose(np.linalg.norm(main['g_feats'], axis=1), 1,
                               rtol=1e-5)
    # the authors' chain on the saved features: track_aug -> re_ranking
    # with the orientation and camera distances inside (USE_VOC) -> mean
    # -> rerank_indice_by_track
    tracks = tracks_of(main['g_track_ids'])
    assert len(tracks) > 3
    g_names = [osp.basename(n) for n in main['g_names']]
    track_names = [[g_names[i] for i in t] for t in tracks]
    # images in no track get their own (the authors' lookup needs one)
    tracked = {i for t in tracks for i in t}
    track_names += [[g_names[i]] for i in range(len(g_names))
                    if i not in tracked]
    def full(aux):
        f = torch.cat([torch.from_numpy(aux['q_feats']),
                       torch.from_numpy(aux['g_feats'])])
        return ref.comput_distmat(f, f)[0].numpy()
    cam_full, ori_full = full(feats['camera']), full(feats['orientation'])
    assert np.abs(ori_full - cam_full).max() > 1e-3
    theirs = []
    for k in ('r18', 'r10'):
        qf = torch.from_numpy(feats[k]['q_feats'])
        gf = ref.track_aug(torch.from_numpy(feats[k]['g_feats']),
                           track_names, g_names)
        theirs.append(ref.re_ranking(qf, gf, 20, 6, 0.3, USE_VOC=True,
                                     cam_dist=cam_full,
                                     ori_dist=ori_full,
                                     dtype=np.float32))
    order = np.argsort(ref.ensemble(theirs), axis=1)
    theirs = ref.rerank_indice_by_track(order, g_names, track_names)
    saved = np.load(osp.join(work, 'postprocess_dist.npz'))
    np.testing.assert_array_equal(np.argsort(saved['ranked'], axis=1),
                                  theirs)
    # a second run finds every stage complete
    again = _train(work, toy_cityflow)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count('complete') >= 9
    assert 'done in' not in again.stdout
