"""The strong vehicle baseline's ablation directions in the toy world.

``python -m plugins.strong_vehicle.toy_ablation [--seeds 3] [--out DIR]``
makes a toy CityFlowV2 (unless ``--data`` is given), then for each seed
trains tiny random-weight models (timm ResNet-18 at 64x64, the toy config
``configs/strong_vehicle/toy_cityflow_v2.py``) and prints mean +- sample std
over seeds of:

* loss weights (Table 1): CE + triplet 1:1, 0.5:0.5, MALW;
* training methods (Table 3): + multi-head, + SupCon (the recipe);
* post-processing (Table 4), on one set of models per seed (the recipe's
  ResNet-18, a ResNet-10t, a camera model): baseline, + re-ranking,
  + camera distance inside it, + tracklet, + ensemble.

Not covered: real vs + synthetic with / without MixStyle (no toy
synthetic-vehicle layout exists yet), the orientation model (no toy
orientation labels).
"""
from __future__ import annotations

import argparse
import copy
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'strong_vehicle', 'toy_cityflow_v2.py')

CE = dict(type='CrossEntropyLoss', label_smoothing=0.1)
TRIPLET = dict(type='TripletLoss', margin=0.3)
SUPCON = dict(type='SupConLoss', temperature=0.07, normalize=False)


def _bnneck(losses):
    return dict(_delete_=True, type='BNNeckHead', in_channels=512,
                num_classes=None, metric_feat='pre_bn', losses=losses)


def _hooks(metric=None):
    hooks = [dict(type='EpochToModelHook'),
             dict(type='FreezeBackboneHook', epochs=1)]
    if metric:
        hooks.append(dict(type='MALWHook', id_losses=['loss_ce'],
                          metric_losses=[metric], interval=5, momentum=0.9,
                          variant='authors'))
    return hooks


#: row name -> config overrides (merged into the toy config)
TRAIN_ROWS = {
    'CE + triplet 1:1': dict(model=dict(head=_bnneck([CE, TRIPLET])),
                             custom_hooks=_hooks()),
    'CE + triplet 0.5:0.5': dict(
        model=dict(head=_bnneck([dict(CE, loss_weight=0.5),
                                 dict(TRIPLET, loss_weight=0.5)])),
        custom_hooks=_hooks()),
    'CE + triplet, MALW': dict(model=dict(head=_bnneck([CE, TRIPLET])),
                               custom_hooks=_hooks('loss_triplet')),
    '+ multi-head': dict(model=dict(head=dict(losses=[CE, TRIPLET])),
                         custom_hooks=_hooks('loss_triplet')),
    '+ SupCon (recipe)': dict(),
}


_RUNS = [0]


def _load(data_root, work_dir, seed, overrides):
    from reidkit.stages.builtin import merge_overrides
    from reidkit.utils.config import load_config
    cfg = load_config(CONFIG, {'data_root': data_root}, work_dir=work_dir)
    cfg.pop('stages', None)
    cfg = merge_overrides(cfg, overrides)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
    _RUNS[0] += 1
    cfg.experiment_name = f'toy_ablation_{_RUNS[0]}_{int(time.time())}'
    return cfg


def train(data_root, work_dir, seed, overrides):
    """Train one toy model; returns the runner (model trained)."""
    from mmengine.runner import Runner
    from reidkit.apis import fill_dataset_counts
    cfg = _load(data_root, work_dir, seed, overrides)
    fill_dataset_counts(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


def features(runner):
    from .stages import extract_features
    from .postprocess import save_features, load_features
    feats = extract_features(runner, flip=True)
    path = osp.join(runner.work_dir, 'feats.npz')
    save_features(path, **feats)
    return load_features(path)


def camera_overrides(data_root):
    from reidkit.utils.config import load_config
    cfg = load_config(CONFIG, {'data_root': data_root})
    stage = [s for s in cfg.stages if s['name'] == 'train_camera'][0]
    return copy.deepcopy(stage['overrides'].to_dict())


def run_seed(data_root, out, seed) -> Dict[str, Dict[str, float]]:
    from .stages import _score, chain_rows
    rows = {}
    recipe = None
    for name, ov in TRAIN_ROWS.items():
        tag = name.split(' (')[0].replace(' ', '_').replace(':', '-')
        runner = train(data_root, osp.join(out, f's{seed}', tag), seed, ov)
        data = features(runner)
        rows[name] = _score(_plain(data), data, 'cityflow')
        if name.startswith('+ SupCon'):
            recipe = data
    r10 = features(train(data_root, osp.join(out, f's{seed}', 'r10'), seed,
                         dict(model=dict(backbone=dict(backbone=dict(
                             model_name='resnet10t'))))))
    cam_ov = camera_overrides(data_root)
    cam = features(train(data_root, osp.join(out, f's{seed}', 'camera'),
                         seed, cam_ov))
    post, _, _ = chain_rows(dict(r18=recipe, r10=r10), dict(camera=cam),
                            dict(camera=0.1), k1=20, k2=6, lambda_value=0.3)
    rows.update({f'post: {k}': v for k, v in post.items()})
    return rows


def _plain(data):
    from reidkit.evaluation.distance import compute_distance
    return compute_distance(data['q_feats'], data['g_feats'])


def format_table(per_seed: List[Dict[str, Dict[str, float]]]) -> str:
    lines = [f'{"row":34s} {"mAP":>14s} {"R1":>14s}']
    for name in per_seed[0]:
        cells = []
        for key in ('mAP', 'R1'):
            v = np.array([r[name][key] for r in per_seed])
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            cells.append(f'{v.mean():6.1f} +- {sd:4.1f}')
        lines.append(f'{name:34s} {cells[0]:>14s} {cells[1]:>14s}')
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--ids', type=int, default=60)
    p.add_argument('--data', help='an existing toy CityFlowV2 root')
    p.add_argument('--out', default='work_dirs/strong_vehicle_toy_ablation')
    args = p.parse_args(argv)
    start = time.time()
    data = args.data or osp.join(args.out, 'data', 'cityflow_v2')
    if not args.data and not osp.isdir(data):
        subprocess.run([sys.executable, osp.join(ROOT, 'tools',
                                                 'make_toy_data.py'),
                        'cityflow_v2', data, '--ids', str(args.ids),
                        '--seed', '0', '--size', '64x64'], check=True,
                       capture_output=True)
    import plugins.strong_vehicle  # noqa: F401
    per_seed = [run_seed(data, args.out, s) for s in range(args.seeds)]
    print(format_table(per_seed))
    print(f'({args.seeds} seeds, {time.time() - start:.0f} s, '
          f'{os.cpu_count()} CPUs)')


if __name__ == '__main__':
    main()
