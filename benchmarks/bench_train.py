"""Benchmark: training throughput of reidkit's Runner loop vs torchreid's engine.

One training iteration = data loading + forward + backward + optimiser step
of the bag-of-tricks model (``configs/_base_/models/bot_r50.py``: ResNet-50,
last stride 1, GAP, BNNeck, CE with label smoothing 0.1 + batch-hard triplet
0.3) at 256x128, batch 64, random weights (``pretrained=None``), 751 classes.

Sides, measured in one process, alternating (A B, B A, ...) to cancel drift:

* ``reidkit``: an mmengine ``Runner`` built from our configs
  (``bot_r50.py`` + ``schedules/adam_120e.py`` + ``default_runtime.py``:
  ``ReIDDataPreprocessor``, ``ReIDModel.train_step``, ``OptimWrapper``
  (``AmpOptimWrapper`` with ``--amp``), Adam with paramwise config,
  LinearLR warm-up, every default hook and the visualizer), with the
  checkpoint hook and validation switched off.
* ``torchreid``: ``torchreid.engine.ImageTripletEngine.train()`` (the PyPI
  ``torchreid`` 0.2.5 package, installed with ``--no-deps`` in a separate
  folder; see benchmarks/train_throughput.md) driving the *same* network
  (a copy of our built model, wrapped to return ``(logits, pre-BN feature)``
  in training as torchreid's models do), its own CE-LS and hard-mining
  triplet losses, and ``torchreid.optim.build_optimizer('adam')``.
  torchreid has no AMP: with ``--amp`` its ``forward_backward`` is
  overridden by the same steps under ``torch.autocast`` + ``GradScaler``
  (the row is labelled ``torchreid+amp-patch``).
* ``plain`` (``--peers torchreid,plain``): a hand-written PyTorch loop on the
  same network and data (F.cross_entropy with label smoothing + vectorised
  batch-hard triplet, Adam), the floor of framework overhead.

Input pipelines:

* ``synthetic`` (default): an in-memory pool of random uint8 3x256x128
  images, P x K labels (16 ids x 4), one ``DataLoader`` per side with the
  same batch size, ``num_workers`` and order. Each side converts the uint8
  images its own way: reidkit packs uint8 tensors (``pseudo_collate``) and
  normalises in the data preprocessor; torchreid's samples go through
  ``ToTensor`` + ``Normalize`` in the workers (as its transforms do).
* ``toy`` (``--pipeline toy --toy-root DIR``): a toy Market-1501 on disk;
  reidkit reads it with its ``Market1501`` dataset and the train pipeline of
  ``configs/_base_/datasets/market1501.py``, torchreid with its
  ``build_transforms(['random_flip', 'random_crop', 'random_erase'])`` over
  the same image list (PIL loading).

Timing: each repetition runs ``warmup + iters`` iterations; a clock stamps
the end of iteration ``warmup`` and of the last one (CUDA synchronised), so
set-up (Runner/engine construction, DataLoader workers start) and warm-up
are excluded; data loading, logging and hooks of the timed iterations are in.

Usage::

    python benchmarks/bench_train.py --iters 10 --batch-size 64 \
        [--device cpu|cuda] [--amp] [--channels-last config|both|off] \
        [--reps 3] \
        [--pipeline synthetic|toy|both] [--peers torchreid,plain]

Prints a table of images/s (median, min-max over repetitions) per side and
the ratio reidkit / peer.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import os.path as osp
import shutil
import statistics
import sys
import tempfile
import time
import types
import warnings

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from peers import peer_site  # noqa: E402

MEAN = (123.675, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


# --------------------------------------------------------------- utilities
class Clock:
    """Stamps the end of iteration ``warmup`` and of ``warmup + iters``."""

    def __init__(self, warmup: int, iters: int, device: str) -> None:
        self.warmup, self.iters, self.device = warmup, iters, device
        self.count = 0
        self.t0 = self.t1 = None

    def tick(self) -> None:
        self.count += 1
        if self.count in (self.warmup, self.warmup + self.iters):
            if self.device == 'cuda':
                torch.cuda.synchronize()
            now = time.perf_counter()
            if self.count == self.warmup:
                self.t0 = now
            else:
                self.t1 = now

    def seconds(self) -> float:
        if self.t0 is None or self.t1 is None:
            raise RuntimeError(f'the loop ran {self.count} iterations, '
                               f'expected {self.warmup + self.iters}')
        return self.t1 - self.t0


def load_torchreid(path=None):
    """Import torchreid's engine, optimiser and transforms.

    torchreid 0.2.5 declares no dependencies; its package ``__init__``
    imports every dataset (``gdown`` for downloads) and its engine imports
    ``torch.utils.tensorboard`` (``tensorboard``), neither of which the
    training step uses. When those are missing they are replaced by empty
    stand-ins (``SummaryWriter`` is only created by ``Engine.run``, which
    this benchmark does not call); nothing else is changed.
    """
    for p in ([path] if path else []) + [peer_site()]:
        if p and osp.isdir(osp.join(p, 'torchreid')) and p not in sys.path:
            sys.path.insert(0, p)
            break
    stubs = []
    try:
        import gdown  # noqa: F401
    except ImportError:
        sys.modules['gdown'] = types.ModuleType('gdown')
        stubs.append('gdown')
    try:
        import torch.utils.tensorboard  # noqa: F401
    except ImportError:
        tb = types.ModuleType('torch.utils.tensorboard')

        class SummaryWriter:  # never constructed here (Engine.run only)
            def __init__(self, *a, **k):
                raise RuntimeError('tensorboard is not installed')
        tb.SummaryWriter = SummaryWriter
        sys.modules['torch.utils.tensorboard'] = tb
        stubs.append('torch.utils.tensorboard')
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter('ignore')
        import torchreid
        from torchreid.reid.engine.image.triplet import ImageTripletEngine
        from torchreid.reid.optim import build_optimizer
        from torchreid.reid.data.transforms import build_transforms
    mod = types.SimpleNamespace(
        ImageTripletEngine=ImageTripletEngine,
        build_optimizer=build_optimizer, build_transforms=build_transforms,
        version=getattr(torchreid, '__version__', '?'),
        location=osp.dirname(osp.dirname(torchreid.__file__)), stubs=stubs)
    return mod


# -------------------------------------------------------------------- data
class SyntheticPool:
    """``pool`` random uint8 (3, H, W) images; sample i has pid
    ``(i // K) % num_classes`` so sequential batches are P x K."""

    def __init__(self, pool: int, size, num_classes: int, k: int = 4,
                 seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.images = torch.randint(0, 256, (pool, 3, *size), generator=g,
                                    dtype=torch.uint8)
        self.num_classes, self.k = num_classes, k

    def pid(self, i: int) -> int:
        return (i // self.k) % self.num_classes

    def image(self, i: int) -> torch.Tensor:
        return self.images[i % len(self.images)]


class OursSynthetic(Dataset):
    """What ``PackReIDInputs`` yields: uint8 CHW tensor + metadata dict."""

    def __init__(self, pool: SyntheticPool, length: int) -> None:
        self.pool, self.length = pool, length
        self.metainfo = dict(num_pids=pool.num_classes)

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        # the keys PackReIDInputs writes for a Market-1501 train image
        samples = dict(pid=self.pool.pid(i), camid=1 + i % 6, clothes_id=-1,
                       modality=0, domain=0, split='train', track_id=-1,
                       sample_idx=i, img_path=f'/synthetic/{i:06d}.jpg')
        return dict(inputs=self.pool.image(i).clone(), data_samples=samples)


class PeerSynthetic(Dataset):
    """torchreid's sample dict; ``ToTensor`` + ``Normalize`` as its
    transforms do (uint8 -> float [0, 1] -> ImageNet normalisation)."""

    def __init__(self, pool: SyntheticPool, length: int) -> None:
        self.pool, self.length = pool, length
        self.mean = torch.tensor([m / 255 for m in MEAN]).view(3, 1, 1)
        self.std = torch.tensor([s / 255 for s in STD]).view(3, 1, 1)

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        img = self.pool.image(i).float().div_(255)
        img = (img - self.mean) / self.std
        return dict(img=img, pid=self.pool.pid(i), camid=1 + i % 6,
                    impath=f'/synthetic/{i:06d}.jpg', dsetid=0)


class PeerImageList(Dataset):
    """torchreid-style image dataset over (path, pid, camid) triples."""

    def __init__(self, items, transform) -> None:
        self.items, self.transform = items, transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        from PIL import Image
        path, pid, camid = self.items[i]
        img = Image.open(path).convert('RGB')
        return dict(img=self.transform(img), pid=pid, camid=camid,
                    impath=path, dsetid=0)


# ------------------------------------------------------------------ models
def load_cfg():
    from mmengine.config import Config
    base = osp.join(ROOT, 'configs', '_base_')
    parts = dict(
        model=Config.fromfile(osp.join(base, 'models', 'bot_r50.py')),
        sched=Config.fromfile(osp.join(base, 'schedules', 'adam_120e.py')),
        runtime=Config.fromfile(osp.join(base, 'default_runtime.py')),
        data=Config.fromfile(osp.join(base, 'datasets', 'market1501.py')))
    return parts


def build_ours(parts, num_classes: int, channels_last=None):
    import reidkit  # noqa: F401  (registers everything)
    from mmengine.registry import init_default_scope
    from reidkit.registry import MODELS
    init_default_scope('reidkit')
    cfg = copy.deepcopy(parts['model'].model.to_dict())
    cfg['backbone']['pretrained'] = None
    cfg['head']['num_classes'] = num_classes
    if channels_last is not None:  # else: as the config says
        cfg['channels_last'] = channels_last
    torch.manual_seed(0)
    return MODELS.build(cfg)


class PeerNet(nn.Module):
    """The same network for torchreid: training forward returns
    ``(logits, features)`` (torchreid's ``loss='triplet'`` convention), the
    pre-BN pooled feature for the triplet, as in bot_r50.py."""

    def __init__(self, ours, channels_last: bool) -> None:
        super().__init__()
        self.backbone = ours.backbone
        self.neck = ours.neck
        self.bnneck = ours.head.bnneck
        self.classifier = ours.head.classifier
        self.channels_last = channels_last
        # torchreid's models are in the default (contiguous) layout
        self.to(memory_format=torch.channels_last if channels_last
                else torch.contiguous_format)

    def forward(self, x):
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        feat = self.neck(self.backbone(x)[-1])
        bn = self.bnneck(feat)
        if not self.training:
            return bn
        return self.classifier(bn, None), feat


# ------------------------------------------------------------------ sides
def run_ours(args, parts, model, rep, loader_cfg, clock_cls=Clock):
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    clock = clock_cls(args.warmup, args.iters, args.device)

    class ClockHook(Hook):
        priority = 'LOWEST'  # after the logger and the other hooks

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            clock.tick()

    runtime, sched = parts['runtime'], parts['sched']
    optim_wrapper = copy.deepcopy(sched.optim_wrapper.to_dict())
    if args.amp:
        optim_wrapper['type'] = 'AmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')
    hooks = copy.deepcopy(runtime.default_hooks.to_dict())
    hooks['checkpoint'] = None
    env_cfg = copy.deepcopy(runtime.env_cfg.to_dict())
    env_cfg['cudnn_benchmark'] = args.cudnn_benchmark
    work_dir = osp.join(args.work_dir, f'ours_{rep}')
    with contextlib.redirect_stdout(io.StringIO()):
        runner = Runner(
            model=model, work_dir=work_dir,
            experiment_name=f'bench_train_{os.getpid()}_{rep}',
            train_dataloader=loader_cfg,
            train_cfg=dict(type='EpochBasedTrainLoop', max_epochs=1),
            optim_wrapper=optim_wrapper,
            param_scheduler=copy.deepcopy(
                [dict(p) for p in sched.param_scheduler]),
            default_hooks=hooks,
            custom_hooks=[dict(h) for h in runtime.custom_hooks]
            + [ClockHook()],
            env_cfg=env_cfg, log_processor=dict(runtime.log_processor),
            log_level='WARNING', randomness=dict(runtime.randomness),
            visualizer=copy.deepcopy(runtime.visualizer.to_dict()),
            default_scope=runtime.default_scope)
        runner.train()
    torch.set_num_threads(args.threads)
    return clock.seconds()


def make_peer_engine_cls(tr, clock, amp):
    base = tr.ImageTripletEngine

    class TimedEngine(base):
        def forward_backward(self, data):
            if amp:
                out = self._amp_forward_backward(data)
            else:
                out = base.forward_backward(self, data)
            clock.tick()
            return out

        def _amp_forward_backward(self, data):
            # torchreid's forward_backward, under autocast + GradScaler
            imgs, pids = self.parse_data_for_train(data)
            imgs, pids = imgs.cuda(), pids.cuda()
            with torch.autocast('cuda', dtype=torch.float16):
                outputs, features = self.model(imgs)
            loss_t = self.compute_loss(self.criterion_t, features.float(),
                                       pids)
            loss_x = self.compute_loss(self.criterion_x, outputs.float(),
                                       pids)
            loss = self.weight_t * loss_t + self.weight_x * loss_x
            self.optimizer.zero_grad()
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            return {'loss_t': loss_t.item(), 'loss_x': loss_x.item()}

    return TimedEngine


def run_torchreid(args, tr, net, rep, loader, num_classes):
    clock = Clock(args.warmup, args.iters, args.device)
    engine_cls = make_peer_engine_cls(tr, clock, args.amp)
    dm = types.SimpleNamespace(train_loader=loader, test_loader={},
                               num_train_pids=num_classes, sources=[])
    optimizer = tr.build_optimizer(net, optim='adam', lr=3.5e-4,
                                   weight_decay=5e-4)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    engine = engine_cls(dm, net, optimizer, margin=0.3, weight_t=1,
                        weight_x=1, scheduler=None,
                        use_gpu=args.device == 'cuda', label_smooth=True)
    if args.amp:
        engine.scaler = torch.amp.GradScaler('cuda')
    engine.max_epoch, engine.epoch = 1, 0
    with contextlib.redirect_stdout(io.StringIO()):
        # print_freq 20 = our LoggerHook interval
        engine.train(print_freq=20)
    return clock.seconds()


def batch_hard_triplet(feat, pids, margin=0.3):
    sq = feat.pow(2).sum(1, keepdim=True)
    dist = (sq + sq.t() - 2 * feat @ feat.t()).clamp(min=1e-12).sqrt()
    same = pids[:, None] == pids[None, :]
    d_ap = dist.masked_fill(~same, float('-inf')).max(1).values
    d_an = dist.masked_fill(same, float('inf')).min(1).values
    return F.relu(d_ap - d_an + margin).mean()


def run_plain(args, net, rep, loader):
    clock = Clock(args.warmup, args.iters, args.device)
    dev = torch.device(args.device)
    opt = torch.optim.Adam(net.parameters(), lr=3.5e-4, weight_decay=5e-4)
    scaler = torch.amp.GradScaler('cuda', enabled=args.amp)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    net.train()
    for data in loader:
        imgs = data['img'].to(dev, non_blocking=True)
        pids = data['pid'].to(dev, non_blocking=True)
        with torch.autocast(args.device, dtype=torch.float16,
                            enabled=args.amp):
            logits, feat = net(imgs)
        loss = F.cross_entropy(logits.float(), pids, label_smoothing=0.1) \
            + batch_hard_triplet(feat.float(), pids)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        clock.tick()
    return clock.seconds()


# ---------------------------------------------------------------- pipelines
def synthetic_loaders(args, num_classes):
    n_iter = args.warmup + args.iters
    length = n_iter * args.batch_size
    pool = SyntheticPool(min(args.pool, length), (args.height, args.width),
                         num_classes)
    pin = args.device == 'cuda'
    common = dict(batch_size=args.batch_size, num_workers=args.num_workers,
                  persistent_workers=args.num_workers > 0, drop_last=True,
                  pin_memory=pin)
    ours_cfg = dict(common, sampler=dict(type='DefaultSampler', shuffle=False),
                    collate_fn=dict(type='pseudo_collate'),
                    dataset=OursSynthetic(pool, length))

    def peer_loader():
        return DataLoader(PeerSynthetic(pool, length), shuffle=False,
                          **common)
    return ours_cfg, peer_loader


def toy_loaders(args, parts, tr):
    from reidkit.registry import DATASETS
    import reidkit  # noqa: F401
    data = parts['data']
    root = args.toy_root
    if not osp.isdir(root):
        raise FileNotFoundError(
            f'--toy-root {root} does not exist; make it with '
            'tools/make_toy_data.py market1501 DIR --ids 200 --size 256x128')
    if osp.isdir(osp.join(root, 'market1501')):
        root = osp.join(root, 'market1501')
    n_iter = args.warmup + args.iters
    ds_cfg = copy.deepcopy(data.train_dataloader.dataset.to_dict())
    ds_cfg['data_root'] = root
    probe = DATASETS.build(copy.deepcopy(ds_cfg))
    items = [(d['img_path'], d['pid'], d['camid'])
             for d in (probe.get_data_info(i) for i in range(len(probe)))]
    need = n_iter * args.batch_size
    if len(items) < need:
        raise ValueError(f'{root}: {len(items)} train images, need {need} '
                         'for warmup + iters batches; use more --ids')
    # both sides read the same first `need` images in the same order
    ds_cfg['indices'] = need
    pin = args.device == 'cuda'
    common = dict(batch_size=args.batch_size, num_workers=args.num_workers,
                  persistent_workers=args.num_workers > 0, drop_last=True,
                  pin_memory=pin)
    ours_cfg = dict(common, sampler=dict(type='DefaultSampler', shuffle=False),
                    collate_fn=dict(type='pseudo_collate'), dataset=ds_cfg)
    with contextlib.redirect_stdout(io.StringIO()):
        transform, _ = tr.build_transforms(
            args.height, args.width,
            transforms=['random_flip', 'random_crop', 'random_erase'])

    def peer_loader():
        return DataLoader(PeerImageList(items[:need], transform),
                          shuffle=False, **common)
    return ours_cfg, peer_loader, probe.metainfo.get('num_pids')


# --------------------------------------------------------------------- main
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--iters', type=int, default=10, help='timed iterations')
    p.add_argument('--warmup', type=int, default=3,
                   help='untimed iterations before them (each repetition)')
    p.add_argument('--reps', type=int, default=3,
                   help='repetitions per side, alternating order')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--height', type=int, default=256)
    p.add_argument('--width', type=int, default=128)
    p.add_argument('--num-classes', type=int, default=751)
    p.add_argument('--num-workers', type=int, default=2)
    p.add_argument('--pool', type=int, default=128,
                   help='distinct synthetic images (reused)')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--amp', action='store_true',
                   help='fp16 autocast + dynamic loss scaling (CUDA only)')
    p.add_argument('--channels-last', default='config',
                   choices=['config', 'both', 'off'],
                   help="config: ours as bot_r50.py says (channels_last), "
                        "peers in torchreid's default layout; both: every "
                        "side channels_last; off: every side contiguous "
                        "(the loops alone compared)")
    p.add_argument('--cudnn-benchmark', action='store_true')
    p.add_argument('--threads', type=int, default=None,
                   help='torch.set_num_threads (default: number of cores)')
    p.add_argument('--pipeline', default='synthetic',
                   choices=['synthetic', 'toy', 'both'])
    p.add_argument('--toy-root', default='data/toy/bench_market1501',
                   help='toy Market-1501 for --pipeline toy/both')
    p.add_argument('--peers', default='torchreid',
                   help='comma list of torchreid, plain')
    p.add_argument('--torchreid-path', default=None,
                   help='folder holding the torchreid package (tried first; '
                        'then .bench_peers/site, made by make bench-peers)')
    p.add_argument('--work-dir', default=None)
    p.add_argument('--json', default=None, help='write all figures here')
    args = p.parse_args(argv)
    if args.amp and args.device != 'cuda':
        p.error('--amp needs --device cuda')
    if args.device == 'cuda' and not torch.cuda.is_available():
        p.error('--device cuda: no CUDA device')
    if args.warmup < 1 or args.iters < 1:
        p.error('--warmup and --iters must be >= 1')
    args.peers = [s.strip() for s in args.peers.split(',') if s.strip()]
    for s in args.peers:
        if s not in ('torchreid', 'plain'):
            p.error(f'unknown peer {s!r}')
    if args.threads is None:
        args.threads = len(os.sched_getaffinity(0))
    return args


def load_avg():
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return None


def bench_pipeline(args, name, parts, tr):
    num_classes = args.num_classes
    if name == 'synthetic':
        ours_cfg, peer_loader = synthetic_loaders(args, num_classes)
    else:
        ours_cfg, peer_loader, n = toy_loaders(args, parts, tr)
        num_classes = n
    ours = build_ours(parts, num_classes,
                      {'config': None, 'both': True, 'off': False}[
                          args.channels_last])
    peer_models = {}
    for peer in args.peers:
        m = PeerNet(copy.deepcopy(ours), args.channels_last == 'both')
        peer_models[peer] = m.to(args.device)
    sides = ['reidkit'] + args.peers
    times = {s: [] for s in sides}
    img = args.iters * args.batch_size
    for rep in range(args.reps):
        order = sides if rep % 2 == 0 else sides[::-1]
        for side in order:
            torch.set_num_threads(args.threads)
            la = load_avg()
            if side == 'reidkit':
                sec = run_ours(args, parts, ours, f'{name}_{rep}', ours_cfg)
            elif side == 'torchreid':
                sec = run_torchreid(args, tr, peer_models[side], rep,
                                    peer_loader(), num_classes)
            else:
                sec = run_plain(args, peer_models[side], rep, peer_loader())
            times[side].append(sec)
            print(f'  [{name}] rep {rep} {side:>10}: {img / sec:7.1f} img/s'
                  f'  ({sec / args.iters:.3f} s/iter, load {la})',
                  flush=True)
    return times


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cleanup = args.work_dir is None
    if cleanup:
        args.work_dir = tempfile.mkdtemp(prefix='bench_train_')
    tr = load_torchreid(args.torchreid_path) if (
        'torchreid' in args.peers or args.pipeline != 'synthetic') else None
    parts = load_cfg()
    dev = torch.cuda.get_device_name() if args.device == 'cuda' else \
        f'CPU, {args.threads} threads'
    print(f'bench_train: ResNet-50 (last stride 1) + BNNeck, CE-LS + '
          f'triplet, {args.height}x{args.width}, batch {args.batch_size}, '
          f'{args.warmup} warm-up + {args.iters} timed iterations x '
          f'{args.reps} reps, num_workers {args.num_workers}')
    print(f'device: {dev}; amp={args.amp} channels_last={args.channels_last}'
          f'; torch {torch.__version__}; load average before: {load_avg()}')
    if tr is not None:
        print(f'torchreid {tr.version} from {tr.location}'
              + (f' (stubbed imports: {", ".join(tr.stubs)})'
                 if tr.stubs else ''))
    pipes = ['synthetic', 'toy'] if args.pipeline == 'both' \
        else [args.pipeline]
    results = {}
    img = args.iters * args.batch_size
    try:
        for name in pipes:
            results[name] = bench_pipeline(args, name, parts, tr)
    finally:
        if cleanup:
            shutil.rmtree(args.work_dir, ignore_errors=True)
    peer_label = {'torchreid': 'torchreid+amp-patch' if args.amp
                  else 'torchreid engine', 'plain': 'plain PyTorch loop'}
    print(f'\nload average after: {load_avg()}')
    print(f'\n| pipeline | side | img/s median | min - max | s/iter |')
    print('|---|---|---|---|---|')
    summary = {}
    for name, times in results.items():
        summary[name] = {}
        for side, secs in times.items():
            ips = [img / s for s in secs]
            med = statistics.median(ips)
            summary[name][side] = dict(ips=ips, median=med)
            label = 'reidkit Runner' if side == 'reidkit' else \
                peer_label[side]
            print(f'| {name} | {label} | {med:.1f} | {min(ips):.1f} - '
                  f'{max(ips):.1f} | {img / med / args.iters:.3f} |')
    print()
    for name, times in results.items():
        ours = times['reidkit']
        for side in times:
            if side == 'reidkit':
                continue
            # per-repetition ratios (adjacent runs share the load)
            ratios = [p / o for o, p in zip(ours, times[side])]
            summary[name][f'ratio_vs_{side}'] = ratios
            print(f'{name}: reidkit / {peer_label[side]} throughput = '
                  f'{statistics.median(ratios):.3f} (median of per-rep '
                  f'ratios; range {min(ratios):.3f} - {max(ratios):.3f}); '
                  f'ratio of medians '
                  f'{summary[name]["reidkit"]["median"] / summary[name][side]["median"]:.3f}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(args=vars(args), device=dev, results=summary), f,
                      indent=1)


if __name__ == '__main__':
    main()
