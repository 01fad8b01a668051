"""Each post-processing step against a transcription of the authors'
``post_process.py`` / ``reid_eval.py`` / ensemble script, on random data."""
import numpy as np
import pytest
import torch

from plugins.strong_vehicle.postprocess import (
    FeatureFileError, OrientationCameraKReciprocal, TrackGroupedRanking,
    flip_average, full_sq_distance, group_by_track, load_features, ranks_to_distance, save_arrays, save_features,
    weighted_track_average)
from reidkit.evaluation.rerankers import DistanceEnsemble, build_chain
from reidkit.evaluation.rerankers.common import RerankerChainError
from reidkit.evaluation.rerankers.k_reciprocal import k_reciprocal_distance
from reidkit.registry import RERANKERS

from . import authors_reference as ref

# the authors hold V and the Jaccard distance in float16 (about 3 decimal
# digits); with float32 arrays their algorithm and ours agree to 1e-5
ATOL = 6e-3
EXACT = 2e-5


def clustered(num, dim=16, ids=12, seed=0, spread=0.35):
    """L2-normalised features around ``ids`` centres (realistic neighbour
    sets: the k-reciprocal sets are not all trivial)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(ids, dim, generator=g)
    labels = torch.randint(ids, (num,), generator=g)
    x = centres[labels] + spread * torch.randn(num, dim, generator=g)
    return torch.nn.functional.normalize(x, dim=1), labels


@pytest.mark.parametrize('k1,k2,lam', [(20, 6, 0.3), (50, 15, 0.5)])
def test_k_reciprocal_full_equals_authors_re_ranking(k1, k2, lam):
    feats, _ = clustered(110)
    qf, gf = feats[:20], feats[20:]
    # reidkit's k-reciprocal from a given full (Q+G)^2 matrix
    ours = k_reciprocal_distance(original_dist=full_sq_distance(qf, gf),
                                 num_query=20, k1=k1, k2=k2, lambda_value=lam)
    theirs = ref.re_ranking(qf.clone(), gf.clone(), k1, k2, lam)
    assert ours.shape == (20, 90)
    np.testing.assert_allclose(ours, theirs.astype(np.float32), atol=ATOL)
    theirs32 = ref.re_ranking(qf.clone(), gf.clone(), k1, k2, lam,
                              dtype=np.float32)
    np.testing.assert_allclose(ours, theirs32, atol=EXACT)


def test_orientation_camera_inside_k_reciprocal_equals_authors_use_voc():
    feats, _ = clustered(100, seed=1)
    ori, _ = clustered(100, dim=8, ids=4, seed=2)
    cam, _ = clustered(100, dim=8, ids=5, seed=3)
    q = 25
    d_ori = full_sq_distance(ori[:q], ori[q:])
    d_cam = full_sq_distance(cam[:q], cam[q:])
    theirs = ref.re_ranking(feats[:q].clone(), feats[q:].clone(), 50, 15,
                            0.5, USE_VOC=True, cam_dist=d_cam,
                            ori_dist=d_ori)
    theirs32 = ref.re_ranking(feats[:q].clone(), feats[q:].clone(), 50, 15,
                              0.5, USE_VOC=True, cam_dist=d_cam,
                              ori_dist=d_ori, dtype=np.float32)
    rr = RERANKERS.build(dict(type='OrientationCameraKReciprocal'))
    # aux given as feature pairs and as matrices: same result
    ours = rr(feats[:q], feats[q:], aux=dict(orientation=(ori[:q], ori[q:]),
                                             camera=(cam[:q], cam[q:])))
    ours_m = rr(feats[:q], feats[q:], aux=dict(orientation=d_ori,
                                               camera=d_cam))
    np.testing.assert_allclose(ours, theirs.astype(np.float32), atol=ATOL)
    np.testing.assert_allclose(ours, theirs32, atol=EXACT)
    np.testing.assert_allclose(ours, ours_m, atol=1e-6)
    # subtracting inside is not the same as fusing after re-ranking
    plain = RERANKERS.build(dict(type='OrientationCameraKReciprocal',
                                 weights={}))(feats[:q], feats[q:])
    after = plain - 0.1 * d_ori[:q, q:] - 0.1 * d_cam[:q, q:]
    assert np.abs(after - ours).max() > 0.05


def test_weighted_track_average_equals_authors_track_aug():
    gf, _ = clustered(30, seed=4)
    names = [f'{i:06d}.jpg' for i in range(30)]
    tracks_idx = [[0, 5, 9, 2], [1, 3], [4, 6, 7, 8, 10, 11], [12]]
    tracks_names = [[names[i] for i in t] for t in tracks_idx]
    paths = [f'/data/image_test/{n}' for n in names]
    theirs = ref.track_aug(gf.clone(), tracks_names, paths)
    ours = weighted_track_average(gf, tracks_idx)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ours[0], gf[0], atol=1e-3)  # really averaged
    torch.testing.assert_close(ours[20], gf[20])  # not in a track: kept


def test_group_by_track_equals_authors_rerank_indice_by_track():
    rng = np.random.default_rng(0)
    num_g = 40
    perm = rng.permutation(num_g)
    tracks = [sorted(perm[a:b].tolist()) for a, b in
              [(0, 7), (7, 8), (8, 20), (20, 26), (26, 40)]]
    indices = np.argsort(rng.random((6, num_g)), axis=1)
    names = [f'{i:06d}.jpg' for i in range(num_g)]
    theirs = ref.rerank_indice_by_track(
        indices.copy(), names, [[names[i] for i in t] for t in tracks])
    ours = group_by_track(indices, tracks)
    np.testing.assert_array_equal(ours, theirs)
    # a hand-worked case with an image in no track (the authors' code would
    # raise): it keeps its place between the tracks
    out = group_by_track(np.array([[3, 0, 4, 1, 2]]), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(out, [[3, 4, 0, 1, 2]])


def test_track_grouped_ranking_reranker_gives_the_grouped_order():
    dist = np.array([[0.3, 0.1, 0.9, 0.2, 0.5]], np.float32)
    out = TrackGroupedRanking()(np.zeros((1, 2)), np.zeros((5, 2)), dist=dist,
                                tracks=[[0, 2], [1, 4]])
    # ranking 1, 3, 0, 4, 2 -> track {1, 4}, then 3, then track {0, 2}
    np.testing.assert_array_equal(np.argsort(out[0]), [1, 4, 3, 0, 2])
    np.testing.assert_array_equal(ranks_to_distance([[2, 0, 1]]),
                                  [[1, 2, 0]])


def test_flip_average_equals_authors_flip_test():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(),
                              torch.nn.LazyLinear(5))
    x = torch.randn(2, 3, 8, 6)
    net(x)
    torch.testing.assert_close(flip_average(net, x), ref.flip_feats(net, x))
    assert not torch.allclose(flip_average(net, x), net(x))


def test_ensemble_is_the_authors_plain_mean():
    rng = np.random.default_rng(1)
    dists = [rng.random((4, 9)).astype(np.float32) for _ in range(3)]
    ours = DistanceEnsemble()(np.zeros((4, 2)), np.zeros((9, 2)),
                              dist=dists[0], dists=dists[1:])
    np.testing.assert_allclose(ours, ref.ensemble(dists), rtol=1e-6)


def test_chain_equals_authors_chain(tmp_path):
    """Saved features of two backbones and the auxiliary models -> track
    averaging + orientation/camera k-reciprocal per backbone -> mean ->
    rank list grouped by track, against the authors' steps in order."""
    q, num = 15, 75
    names = [f'{i:06d}.jpg' for i in range(num)]
    tracks = [list(range(q + a, q + b)) for a, b in
              [(0, 6), (6, 20), (20, 33), (33, 47), (47, 60)]]
    g_tracks = [[i - q for i in t] for t in tracks]
    files = {}
    for name, seed, dim in [('r50', 5, 16), ('x101', 6, 16),
                            ('orientation', 7, 8), ('camera', 8, 8)]:
        f, _ = clustered(num, dim=dim, seed=seed)
        files[name] = save_features(str(tmp_path / f'{name}.npz'), f[:q],
                                    f[q:], names[:q], names[q:])
    rr = OrientationCameraKReciprocal(track_average=True)
    aux = dict(orientation=files['orientation'], camera=files['camera'])
    ours = []
    for name in ('r50', 'x101'):
        data = load_features(files[name])
        ours.append(rr(data['q_feats'], data['g_feats'], aux=aux,
                       tracks=g_tracks))
    ours = TrackGroupedRanking()(np.zeros((q, 1)), np.zeros((num - q, 1)),
                                 dist=DistanceEnsemble()(
                                     np.zeros((q, 1)), np.zeros((num - q, 1)),
                                     dist=ours[0], dists=ours[1:]),
                                 tracks=g_tracks)
    theirs = []
    d = {k: load_features(v) for k, v in files.items()}
    aux_full = {k: full_sq_distance(d[k]['q_feats'], d[k]['g_feats'])
                for k in ('orientation', 'camera')}
    track_names = [[names[i] for i in t] for t in tracks]
    for name in ('r50', 'x101'):
        qf = torch.from_numpy(d[name]['q_feats'])
        gf = ref.track_aug(torch.from_numpy(d[name]['g_feats']), track_names,
                           names[q:])
        theirs.append(ref.re_ranking(qf, gf, 50, 15, 0.5, USE_VOC=True,
                                     cam_dist=aux_full['camera'],
                                     ori_dist=aux_full['orientation'],
                                     dtype=np.float32))
    order = np.argsort(ref.ensemble(theirs), axis=1)
    theirs = ref.rerank_indice_by_track(order, names[q:], track_names)
    ours_order = np.argsort(ours, axis=1)
    np.testing.assert_array_equal(ours_order, theirs)


def test_bad_saved_files_are_named(tmp_path):
    bad = save_arrays(str(tmp_path / 'bad.npz'), q_feats=np.zeros((2, 3)))
    with pytest.raises(FeatureFileError, match='g_feats'):
        load_features(bad)
    with pytest.raises(FileNotFoundError, match='missing.npz'):
        load_features(str(tmp_path / 'missing.npz'))
    wrong = save_arrays(str(tmp_path / 'wrong.npz'), q_feats=np.zeros((2, 3)),
                        g_feats=np.zeros((4, 3)), q_names=np.array(['a']),
                        g_names=np.array(['b'] * 4))
    with pytest.raises(FeatureFileError, match='q_feats has shape'):
        load_features(wrong)
    rr = OrientationCameraKReciprocal(k1=2, k2=2)
    with pytest.raises(KeyError, match='orientation'):
        rr(np.zeros((2, 3)), np.ones((4, 3)), aux={})
    with pytest.raises(ValueError, match='covers 5 images'):
        rr(np.zeros((2, 3)), np.ones((4, 3)),
           aux=dict(orientation=np.zeros((5, 5)), camera=np.zeros((6, 6))))
    # it starts from the features: later in a chain it would drop a step
    with pytest.raises(RerankerChainError, match='first in the chain'):
        build_chain([dict(type='AverageQueryExpansion'),
                     dict(type='OrientationCameraKReciprocal')])


@pytest.mark.parametrize('use_tracks', [False, True])
def test_chain_without_tracks_is_the_authors_without_track_steps(use_tracks):
    """VeRi-776's chain (use_tracks=False, or no gallery image in a track):
    no tracklet row, and the final distance is the plain mean of each
    backbone's re-ranking with the aux distances inside (the authors'
    re_ranking(USE_VOC) then their ensemble, no track_aug, no grouping)."""
    from plugins.strong_vehicle.stages import _score, chain_rows
    q, num = 12, 60
    labels = None
    data = {}
    for name, seed, dim in [('x101', 1, 16), ('r50', 2, 16),
                            ('orientation', 3, 8), ('camera', 4, 8)]:
        f, lab = clustered(num, dim=dim, seed=seed)
        labels = lab if labels is None else labels
        data[name] = dict(q_feats=f[:q].numpy(), g_feats=f[q:].numpy())
    cams = np.arange(num) % 5
    lists = dict(q_names=np.array([f'{i}.jpg' for i in range(q)]),
                 g_names=np.array([f'{i}.jpg' for i in range(q, num)]),
                 q_pids=labels[:q].numpy(), g_pids=labels[q:].numpy(),
                 q_camids=cams[:q], g_camids=cams[q:],
                 # with use_tracks=True: tracks are in the files, but none
                 g_track_ids=np.full(num - q, -1))
    for d in data.values():
        d.update(lists)
    models = {k: data[k] for k in ('x101', 'r50')}
    aux = {k: data[k] for k in ('orientation', 'camera')}
    weights = dict(orientation=0.1, camera=0.1)
    rows, ensemble, final = chain_rows(models, aux, weights, k1=20, k2=6,
                                       lambda_value=0.3, protocol='market',
                                       use_tracks=use_tracks)
    assert list(rows) == ['baseline', '+ re-ranking', '+ orientation/camera',
                          '+ ensemble']
    aux_full = {k: full_sq_distance(aux[k]['q_feats'], aux[k]['g_feats'])
                for k in aux}
    theirs = [ref.re_ranking(torch.from_numpy(d['q_feats']),
                             torch.from_numpy(d['g_feats']), 20, 6, 0.3,
                             USE_VOC=True, cam_dist=aux_full['camera'],
                             ori_dist=aux_full['orientation'],
                             dtype=np.float32) for d in models.values()]
    theirs = ref.ensemble(theirs)
    np.testing.assert_allclose(final, theirs, atol=EXACT)
    np.testing.assert_array_equal(final, ensemble)
    assert rows['+ ensemble'] == _score(final, data['x101'], 'market')
