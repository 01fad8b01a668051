"""``tools/train.py configs/strong_vehicle/cityflow_v2_x101.py`` end to end:
the paper config with every stage (check, the ResNeXt101-IBN-a slot and
its test, the ResNet50 / ResNet101-IBN-a slots, the camera model, the
orientation model on VehicleX, saved features, the post-processing chain),
made tiny through ``--cfg-options`` only (timm ``test_resnet`` backbones,
32x32 toy data, one epoch); its final ranking checked against the
authors' steps recomputed from the saved files; a second run skips every
stage. Missing data and weights stop the run in the ``check`` stage."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from plugins.strong_vehicle.postprocess import load_features
from plugins.strong_vehicle.stages import MissingInputsError, tracks_of
from reidkit.stages import StageRunner, build_stages
from reidkit.utils.cli import ReIDInputError, run_cli
from reidkit.utils.config import load_config

from . import authors_reference as ref

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
CONFIG = 'configs/strong_vehicle/cityflow_v2_x101.py'


def _tiny(name, **kwargs):
    """Options that replace the backbone `name` by a timm test_resnet."""
    opts = [f'{name}._delete_=True', f'{name}.type=TimmBackbone',
            f'{name}.model_name=test_resnet']
    return opts + [f'{name}.{k}={v}' for k, v in kwargs.items()]


# the three backbone slots get different models (same seed, same data:
# equal architectures would train to equal weights)
TINY = ['img_size=(32,32)', 'pad=2', 'max_epochs=1', 'warmup_iters=2',
        'backbone_channels=96', *_tiny('x101_backbone'),
        *_tiny('r50_backbone', stem_width=8, zero_init_last=False),
        *_tiny('r101_backbone', zero_init_last=False),
        'model.backbone.after=[model.layer1,model.layer2]',
        'model.head.feat_channels=32', 'model.head.num_groups=2',
        'model.head.gdn_channels=8', 'train_dataloader.batch_size=16',
        'train_dataloader.sampler.batch_size=16',
        'train_dataloader.sampler.num_instances=4',
        *[f'{d}.{k}' for d in ('train_dataloader', 'test_dataloader')
          for k in ('num_workers=0', 'persistent_workers=False')],
        'default_hooks.logger.interval=50',
        # a toy query + gallery of ~30 images
        'rerank.k1=20', 'rerank.k2=6', 'rerank.lambda_value=0.3']


def _args(work, data):
    real, vehiclex = data
    return [CONFIG, '--work-dir', work, '--cfg-options', f'data_root={real}',
            f'vehiclex_root={vehiclex}', *TINY]


def _train(work, data):
    # one thread: on the shared 2-core machine a second OpenMP thread spins
    # waiting and costs more CPU than it saves on these tiny models
    return subprocess.run([sys.executable, 'tools/train.py',
                           *_args(work, data)], cwd=ROOT,
                          env=dict(os.environ, OMP_NUM_THREADS='1'),
                          capture_output=True, text=True, timeout=900)


def _train_in_process(work, data, monkeypatch):
    """tools/train.py's main through run_cli, in this process (a second
    process would cost ~10 CPU-s of imports)."""
    import importlib.util
    monkeypatch.chdir(ROOT)
    spec = importlib.util.spec_from_file_location(
        'sv_train_tool', osp.join(ROOT, 'tools', 'train.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return run_cli(tool.main, _args(work, data))


@pytest.fixture(scope='module')
def toy_data(tmp_path_factory):
    from synthgen.toyworld import make_dataset
    out = tmp_path_factory.mktemp('sv_toy')
    make_dataset('cityflow_v2', str(out / 'cityflow_v2'), num_ids=24,
                 seed=0, size='32x32')
    make_dataset('vehiclex', str(out / 'vehiclex'), num_ids=6, seed=0,
                 size='32x32')
    return str(out / 'cityflow_v2'), str(out / 'vehiclex')


def _authors_final_ranking(work, models, k1=20, k2=6, lambda_value=0.3):
    """track_aug -> re_ranking with the orientation and camera distances
    inside (USE_VOC) -> mean over models -> rerank_indice_by_track."""
    feats = {k: load_features(osp.join(work, 'features', f'{k}.npz'))
             for k in models + ['camera', 'orientation']}
    main = feats[models[0]]
    tracks = tracks_of(main['g_track_ids'])
    assert len(tracks) > 3
    g_names = [osp.basename(n) for n in main['g_names']]
    track_names = [[g_names[i] for i in t] for t in tracks]
    tracked = {i for t in tracks for i in t}
    # images in no track get their own (the authors' lookup needs one)
    track_names += [[g_names[i]] for i in range(len(g_names))
                    if i not in tracked]

    def full(aux):
        f = torch.cat([torch.from_numpy(aux['q_feats']),
                       torch.from_numpy(aux['g_feats'])])
        return ref.comput_distmat(f, f)[0].numpy()
    cam_full, ori_full = full(feats['camera']), full(feats['orientation'])
    assert np.abs(ori_full - cam_full).max() > 1e-3
    theirs = []
    for k in models:
        qf = torch.from_numpy(feats[k]['q_feats'].copy())
        gf = ref.track_aug(torch.from_numpy(feats[k]['g_feats'].copy()),
                           track_names, g_names)  # (in place)
        theirs.append(ref.re_ranking(qf, gf, k1, k2, lambda_value,
                                     USE_VOC=True, cam_dist=cam_full,
                                     ori_dist=ori_full, dtype=np.float32))
    order = np.argsort(ref.ensemble(theirs), axis=1)
    return feats, ref.rerank_indice_by_track(order, g_names, track_names)


# five tiny trainings, five feature files, the chain: one tools/train.py
# process for all 13 stages; the re-run in this process
@pytest.mark.timeout(900)
def test_paper_config_runs_every_stage_and_the_chain_is_the_authors(
        toy_data, tmp_path, monkeypatch, capsys):
    work = str(tmp_path / 'work')
    res = _train(work, toy_data)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    result = json.load(open(osp.join(work, 'postprocess.json')))
    assert list(result['rows']) == ['baseline', '+ re-ranking',
                                    '+ orientation/camera', '+ tracklet',
                                    '+ ensemble']
    assert result['models'] == ['x101', 'r50', 'r101']
    assert result['aux'] == ['orientation', 'camera']
    assert (result['k1'], result['k2'], result['lambda_value']) == (20, 6,
                                                                    0.3)
    assert result['weights'] == dict(orientation=0.1, camera=0.1)
    assert result['features']['r50'] == osp.join(work, 'features', 'r50.npz')
    # the single model's test stage (k-reciprocal evaluator) ran too
    single = json.load(open(osp.join(work, 'metrics_test.json')))
    assert 0 <= single['mAP'] <= 100
    feats, theirs = _authors_final_ranking(work, ['x101', 'r50', 'r101'])
    main = feats['x101']
    assert len(main['q_names']) > 0 and len(main['g_names']) > 10
    np.testing.assert_allclose(np.linalg.norm(main['g_feats'], axis=1), 1,
                               rtol=1e-5)
    # the three slots are three different models
    for other in ('r50', 'r101'):
        assert np.abs(feats[other]['g_feats'] - main['g_feats']).max() > 1e-3
    saved = np.load(osp.join(work, 'postprocess_dist.npz'))
    np.testing.assert_array_equal(np.argsort(saved['ranked'], axis=1),
                                  theirs)
    # the rank-list picture reads the run's files
    from plugins.strong_vehicle import ranklist
    ranklist.main([work, str(tmp_path / 'ranks.png'), '--queries', '2'])
    assert osp.getsize(tmp_path / 'ranks.png') > 1000
    # a second run finds every stage complete and runs none
    runner = _train_in_process(work, toy_data, monkeypatch)
    assert [p.action for p in runner.plan()] == ['skip'] * 13
    out = capsys.readouterr().out
    assert out.count('skip') == 13 and 'done in' not in out, out[-3000:]
    assert runner.results == {}


def test_missing_data_and_weights_stop_the_run_before_training(tmp_path):
    """The paper config without data or IBN-Net weights: the first stage
    names every missing path and what belongs there; nothing trains."""
    cfg = load_config(osp.join(ROOT, CONFIG), {
        'data_root': str(tmp_path / 'cityflow_v2'),
        'vehiclex_root': str(tmp_path / 'vehiclex'),
        'r101_weights': str(tmp_path / 'r101.pth')}, work_dir=str(
            tmp_path / 'w'))
    (tmp_path / 'r101.pth').write_bytes(b'')  # this one is there
    runner = StageRunner(build_stages(cfg), cfg.work_dir)
    plans = runner.plan()
    assert (plans[0].stage.name, plans[0].action) == ('check', 'run')
    with pytest.raises(MissingInputsError) as info:
        runner.run(plans)
    assert isinstance(info.value, ReIDInputError)  # exit code 2 in tools
    text = str(info.value)
    assert '4 input(s)' in text
    x101 = [ln for ln in text.splitlines()
            if 'resnext101_ibn_a-6ace051d.pth' in ln][0]
    assert 'checkpoints/resnext101_ibn_a-6ace051d.pth  (read by train, ' \
        'test, feats_x101, train_camera, ' in x101
    assert 'IBN-Net v1.0 release' in x101
    assert 'checkpoints/resnet50_ibn_a-d9d0bb7b.pth  (read by train_r50, ' \
        'feats_r50)' in text and 'r101.pth' not in text
    assert f"{tmp_path / 'cityflow_v2'}  (read by train, test" in text
    assert 'the CityFlowV2 dataset, laid out as:' in text
    assert 'train_label.xml' in text
    assert f"{tmp_path / 'vehiclex'}  (read by train_orientation): " \
        'the VehicleX' in text
    assert not (tmp_path / 'w' / 'last_checkpoint').exists()
