"""The strong vehicle baseline's ablation directions in the toy world.

``python -m plugins.strong_vehicle.toy_ablation [--seeds 3] [--out DIR]``
makes a toy CityFlowV2 and a toy VehicleX (synthetic vehicles with
orientation labels), then for each seed trains tiny random-weight models
(timm ResNet-18, the toy config ``configs/strong_vehicle/toy_cityflow_v2.py``)
and prints mean +- sample std (ddof 1) over seeds of:

* loss weights (Table 1): CE + triplet 1:1, 0.5:0.5, MALW;
* training methods (Table 3): + multi-head, + SupCon (the recipe);
* data (Table 2): real / real + toy synthetic, each without and with
  MixStyle (the recipe with MixStyle on real data is the ``+ SupCon`` run,
  not trained twice);
* post-processing (Table 4), on one set of models per seed (the recipe's
  ResNet-18, a ResNet-10t, a camera model, an orientation model trained on
  the toy VehicleX): baseline, + re-ranking, + orientation / camera
  distances inside it, + tracklet, + ensemble.
"""
from __future__ import annotations

import argparse
import copy
import fcntl
import glob
import json
import os
import os.path as osp
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


NO_MIXSTYLE = dict(model=dict(backbone=dict(p=0.0)))


def synthetic_overrides(mixstyle: bool) -> dict:
    """Train on the real train split + the toy VehicleX (one label space)."""
    ov = dict(train_dataloader=dict(dataset=dict(
        _delete_=True, type='ReIDConcatDataset', pipeline='${train_pipeline}',
        datasets=[dict(type='CityFlowV2', data_root='${data_root}',
                       split='train'),
                  dict(type='VehicleX', data_root='${vehiclex_root}')])))
    return ov if mixstyle else dict(ov, **NO_MIXSTYLE)


_RUNS = [0]
_SIZES = dict(img_size=(64, 64), epochs=2)


def _options(data_root):
    real, synthetic = data_root
    return {'data_root': real, 'vehiclex_root': synthetic,
            'img_size': tuple(_SIZES['img_size'])}


def _load(data_root, work_dir, seed, overrides):
    from reidkit.stages.builtin import merge_overrides
    from reidkit.utils.config import load_config, resolve_references
    cfg = load_config(CONFIG, _options(data_root), work_dir=work_dir)
    cfg.pop('stages', None)
    cfg = merge_overrides(cfg, overrides)
    resolve_references(cfg)
    epochs = _SIZES['epochs']
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs + 1  # rows are scored on features
    cfg.param_scheduler[1].update(end=epochs, T_max=epochs)
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


def stage_overrides(name, data_root):
    """The overrides of the toy config's stage ``name`` (camera model...)."""
    from reidkit.utils.config import load_config
    cfg = load_config(CONFIG, _options(data_root))
    stage = [s for s in cfg.stages if s['name'] == name][0]
    return copy.deepcopy(stage['overrides'].to_dict())


#: data rows (Table 2) -> overrides; None = the recipe run above
DATA_ROWS = {
    'real, no MixStyle': NO_MIXSTYLE,
    'real + MixStyle': None,
    'real + synthetic, no MixStyle': synthetic_overrides(False),
    'real + synthetic + MixStyle': synthetic_overrides(True),
}


def run_seed(data_root, out, seed) -> Dict[str, Dict[str, float]]:
    from .stages import _score, chain_rows
    rows = {}
    recipe = None

    def run(tag, ov):
        data = features(train(data_root, osp.join(out, f's{seed}', tag),
                              seed, ov))
        return data, _score(_plain(data), data, 'cityflow')
    for name, ov in TRAIN_ROWS.items():
        tag = name.split(' (')[0].replace(' ', '_').replace(':', '-')
        data, rows[name] = run(tag, ov)
        if name.startswith('+ SupCon'):
            recipe, recipe_row = data, rows[name]
    for name, ov in DATA_ROWS.items():
        rows[f'data: {name}'] = recipe_row if ov is None else run(
            name.replace(' ', '_').replace(',', '').replace('+', 'p'), ov)[1]
    r10, _ = run('r10', dict(model=dict(backbone=dict(backbone=dict(
        model_name='resnet10t')))))
    cam, _ = run('camera', stage_overrides('train_camera', data_root))
    ori, _ = run('orientation', stage_overrides('train_orientation', data_root))
    post, _, _ = chain_rows(dict(r18=recipe, r10=r10),
                            dict(orientation=ori, camera=cam),
                            dict(orientation=0.1, camera=0.1), k1=20, k2=6,
                            lambda_value=0.3)
    rows.update({f'post: {k}': v for k, v in post.items()})
    return rows


def _plain(data):
    from reidkit.evaluation.distance import compute_distance
    return compute_distance(data['q_feats'], data['g_feats'])


def format_table(per_seed: List[Dict[str, Dict[str, float]]]) -> str:
    lines = [f'{"row":36s} {"mAP":>14s} {"R1":>14s}']
    for name in per_seed[0]:
        cells = []
        for key in ('mAP', 'R1'):
            v = np.array([r[name][key] for r in per_seed])
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            cells.append(f'{v.mean():6.1f} +- {sd:4.1f}')
        lines.append(f'{name:36s} {cells[0]:>14s} {cells[1]:>14s}')
    return '\n'.join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--ids', type=int, default=40,
                   help='toy CityFlowV2 identities')
    p.add_argument('--synthetic-ids', type=int, default=30,
                   help='toy VehicleX identities')
    p.add_argument('--size', type=int, default=48, help='image side')
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--out', default='work_dirs/strong_vehicle_toy_ablation')
    p.add_argument('--first-seed', type=int, default=0,
                   help='seeds first-seed .. first-seed + seeds - 1 (run '
                        'seeds in separate processes, then --combine)')
    p.add_argument('--combine', action='store_true',
                   help='print the table of every seed saved under --out')
    args = p.parse_args(argv)
    if args.combine:
        files = sorted(glob.glob(osp.join(args.out, 's*', 'rows.json')))
        per_seed = [json.load(open(f)) for f in files]
        print(format_table(per_seed))
        print(f'({len(per_seed)} seeds: {", ".join(files)})')
        return
    start, cpu0 = time.time(), os.times()
    from synthgen.toyworld import make_dataset
    size = f'{args.size}x{args.size}'
    data = (osp.join(args.out, 'data', 'cityflow_v2'),
            osp.join(args.out, 'data', 'vehiclex'))
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, '.data.lock'), 'w') as lock:
        # seeds run in parallel processes share the data: one makes it
        fcntl.flock(lock, fcntl.LOCK_EX)
        make_dataset('cityflow_v2', data[0], num_ids=args.ids, seed=0,
                     size=size)
        make_dataset('vehiclex', data[1], num_ids=args.synthetic_ids, seed=0,
                     size=size)
    _SIZES.update(img_size=(args.size, args.size), epochs=args.epochs)
    import plugins.strong_vehicle  # noqa: F401
    per_seed = []
    for s in range(args.first_seed, args.first_seed + args.seeds):
        per_seed.append(run_seed(data, args.out, s))
        with open(osp.join(args.out, f's{s}', 'rows.json'), 'w') as f:
            json.dump(per_seed[-1], f, indent=1)
        # the table so far after every seed (a long run stopped early
        # still shows its finished seeds)
        print(format_table(per_seed))
        cpu = os.times()
        cpu_s = (cpu.user - cpu0.user) + (cpu.system - cpu0.system)
        print(f'({len(per_seed)} of {args.seeds} seeds, sample std; toy '
              f'CityFlowV2 {args.ids} ids + VehicleX {args.synthetic_ids} ids '
              f'at {size}, {args.epochs} epochs; {time.time() - start:.0f} s '
              f'wall, {cpu_s:.0f} s CPU, {os.cpu_count()} CPUs)', flush=True)


if __name__ == '__main__':
    main()
