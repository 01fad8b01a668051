"""Why the DiVE toy baseline was at chance: what identity the toy SYSU-MM01
carries across modalities, and what a small model learns of it.

Not part of the unit tests or of ``plugins.dive.toy_ablation``; the numbers
of ``plugins/dive/README.md`` "Toy diagnosis" come from it.

    python benchmarks/dive_toy_diagnosis.py SYSU_ROOT [--train ...]

Without ``--train`` (model-free, seconds), on the test identities:

- attribute oracle: IR query -> RGB gallery ranked by the number of equal
  modality-invariant annotated attributes (bag, build, hair style, hat,
  lower type, sleeve, materials, pattern, face mark, height / 5 cm);
- ground-truth part maps (the toy's parsing masks at 16x8, one channel per
  part): the shape of a person, which both modalities show;
- grey row statistics (mean and std of each image row).

With ``--train``: a bag-of-tricks model (the toy config's model dict, or
``--backbone small --channels ...``) trained in a minimal in-memory loop
(Adam, x0.1 at 3/4 of the epochs, flip + pad-crop, ``P x K`` batches,
``len(ids) / P`` batches per epoch: fewer steps than the table's epochs of
every image; ``--train-mod ir|rgb`` keeps one modality), scored with the
all-search protocol and with full-gallery IR -> RGB and leave-one-out
IR -> IR / RGB -> RGB retrieval. One torch thread.

Every score is rank-1 / mAP in percent; ``random`` is a random ranking of
the same query / gallery.
"""
import argparse
import json
import os.path as osp
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

INVARIANT = ['bag', 'build', 'hair_style', 'hat', 'lower_type', 'sleeve',
             'upper_material', 'lower_material', 'upper_pattern', 'face_mark']


def rank_scores(dist, qp, gp, leave_one_out=False):
    """(R1, mAP) in percent; ``leave_one_out``: query i is gallery i."""
    r1, aps = [], []
    for i in range(len(qp)):
        d = np.array(dist[i], dtype=float)
        if leave_one_out:
            d[i] = np.inf
        order = np.argsort(d, kind='stable')
        if leave_one_out:
            order = order[:-1]
        match = gp[order] == qp[i]
        if not match.any():
            continue
        r1.append(match[0])
        pos = np.nonzero(match)[0]
        aps.append((np.arange(1, len(pos) + 1) / (pos + 1)).mean())
    return 100 * float(np.mean(r1)), 100 * float(np.mean(aps))


def test_records(root):
    recs = [json.loads(ln) for ln in open(
        osp.join(root, '_toy_annotations', 'attributes.jsonl'))]
    test = [r for r in recs if r['split'] in ('query', 'gallery')
            and (r['modality'] == 1 or r['camid'] in (1, 2, 4, 5))]
    return ([r for r in test if r['modality'] == 1],
            [r for r in test if r['modality'] == 0])


def model_free(root):
    from PIL import Image
    ir, rgb = test_records(root)
    qp = np.array([r['pid'] for r in ir])
    gp = np.array([r['pid'] for r in rgb])

    def attrs(r):
        a = r['attributes']
        return [str(a[k]) for k in INVARIANT] + [str(a['height_cm'] // 5)]

    def parts(r):
        m = np.asarray(Image.open(osp.join(
            root, '_toy_annotations', 'masks', r['path'][:-4] + '.png')
        ).resize((8, 16), Image.NEAREST))
        return np.concatenate([(m == k).ravel() for k in range(1, 7)]
                              ).astype(float)

    def grey_rows(r):
        g = np.asarray(Image.open(osp.join(root, r['path'])).convert('L')
                       .resize((16, 32), Image.BILINEAR), float)
        return np.concatenate([g.mean(1), g.std(1)])

    rng = np.random.default_rng(0)
    a, b = np.array([attrs(r) for r in ir]), np.array([attrs(r) for r in rgb])
    same = (a[:, None] == b[None]).sum(2) + 1e-3 * rng.random((len(a), len(b)))
    out = {'ids': len(set(qp)),
           'random IR->RGB': rank_scores(rng.random(same.shape), qp, gp),
           'attribute oracle IR->RGB': rank_scores(-same, qp, gp)}
    for name, f in (('part maps', parts), ('grey rows', grey_rows)):
        x = np.stack([f(r) for r in ir])
        y = np.stack([f(r) for r in rgb])
        x, y = x - x.mean(0), y - y.mean(0)
        x /= np.linalg.norm(x, axis=1, keepdims=True) + 1e-9
        y /= np.linalg.norm(y, axis=1, keepdims=True) + 1e-9
        out[f'{name} IR->RGB'] = rank_scores(1 - x @ y.T, qp, gp)
        out[f'{name} IR->IR'] = rank_scores(1 - x @ x.T, qp, qp, True)
        out[f'{name} RGB->RGB'] = rank_scores(1 - y @ y.T, gp, gp, True)
    return out


def load_split(root, split, size):
    import torch
    from PIL import Image

    from reidkit.registry import DATASETS
    ds = DATASETS.build(dict(type='SYSUMM01', data_root=root, split=split))
    rows = [ds.get_data_info(i) for i in range(len(ds))]
    imgs = np.stack([np.asarray(Image.open(r['img_path']).convert('RGB')
                                .resize((size[1], size[0]), Image.BILINEAR))
                     for r in rows])
    lab = {k: np.array([r[k] for r in rows])
           for k in ('pid', 'camid', 'modality')}
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float(), lab


def train_and_score(args):
    import torch
    import torch.nn.functional as F

    import plugins.dive  # noqa: F401
    from mmengine.registry import init_default_scope

    from reidkit.apis import load_config
    from reidkit.evaluation.protocols import build_protocol
    from reidkit.registry import MODELS
    init_default_scope('reidkit')
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    H, W = map(int, args.size.split('x'))
    pad = 4 if H >= 64 else 2
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    t0 = time.process_time()
    xt, lt = load_split(args.root, 'train', (H, W))
    keep = {'both': lt['modality'] >= 0, 'rgb': lt['modality'] == 0,
            'ir': lt['modality'] == 1}[args.train_mod]
    xt, lt = xt[keep], {k: v[keep] for k, v in lt.items()}
    ids = np.unique(lt['pid'])
    label = np.searchsorted(ids, lt['pid'])
    m = load_config(osp.join(REPO, args.config), {}).model.to_dict()
    if args.backbone == 'small':
        ch = tuple(int(c) for c in args.channels.split(','))
        m['backbone'] = dict(type='SmallConvNet', channels=ch)
        m['neck']['in_channels'] = m['head']['in_channels'] = ch[-1]
    elif args.backbone == 'lcnet':
        m['backbone'] = dict(type='TimmBackbone', model_name='lcnet_050',
                             pretrained=None, last_stride=None)
        m['neck']['in_channels'] = m['head']['in_channels'] = 256
    m['head']['num_classes'] = len(ids)
    m['channels_last'] = False
    model = MODELS.build(m)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=5e-4)
    model.train()
    for epoch in range(args.epochs):
        if epoch == int(round(args.epochs * 3 / 4)):
            for group in opt.param_groups:
                group['lr'] = args.lr * 0.1
        order = rng.permutation(len(ids))
        for s in range(0, len(ids) - args.P + 1, args.P):
            b = np.concatenate([rng.choice(np.nonzero(label == i)[0], args.K,
                                           replace=(label == i).sum() < args.K)
                                for i in order[s:s + args.P]])
            x = (xt[b] - mean) / std
            flip = torch.from_numpy(rng.random(len(b)) < 0.5)
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
            xp = F.pad(x, (pad,) * 4)
            oy, ox = rng.integers(0, 2 * pad + 1, (2, len(b)))
            x = torch.stack([xp[i, :, oy[i]:oy[i] + H, ox[i]:ox[i] + W]
                             for i in range(len(b))])
            loss = sum(model(x, mode='loss', labels=dict(
                pid=torch.from_numpy(label[b]).long())).values())
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()

    def feats(x):
        with torch.no_grad():
            f = torch.cat([model((x[i:i + 256] - mean) / std, mode='tensor')
                           for i in range(0, len(x), 256)])
        return F.normalize(f, dim=1).numpy()
    xq, q = load_split(args.root, 'query', (H, W))
    xg, g = load_split(args.root, 'gallery', (H, W))
    fq, fg = feats(xq), feats(xg)
    proto = build_protocol('sysu_all')
    res = proto.evaluate(1 - fq @ fg.T, q, g)
    chance = [proto.evaluate(rng.random((len(fq), len(fg))), q, g)
              for _ in range(20)]
    return {'ids': len(np.unique(q['pid'])), 'train images': len(xt),
            'all-search': (100 * res['cmc'][0], 100 * res['mAP']),
            'all-search random': (100 * np.mean([c['cmc'][0] for c in chance]),
                                  100 * np.mean([c['mAP'] for c in chance])),
            'IR->RGB': rank_scores(1 - fq @ fg.T, q['pid'], g['pid']),
            'IR->IR': rank_scores(1 - fq @ fq.T, q['pid'], q['pid'], True),
            'RGB->RGB': rank_scores(1 - fg @ fg.T, g['pid'], g['pid'], True),
            'cpu s': time.process_time() - t0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('root', help='a toy SYSU-MM01 (tools/make_toy_data.py)')
    ap.add_argument('--train', action='store_true')
    ap.add_argument('--config', default='configs/dive/toy_sysu_smallconv.py')
    ap.add_argument('--backbone', default='config',
                    choices=['config', 'small', 'lcnet'])
    ap.add_argument('--channels', default='32,64,128,256')
    ap.add_argument('--size', default='32x16', help='HxW')
    ap.add_argument('--epochs', type=int, default=8)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--P', type=int, default=8)
    ap.add_argument('--K', type=int, default=4)
    ap.add_argument('--train-mod', default='both',
                    choices=['both', 'rgb', 'ir'])
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()
    out = train_and_score(args) if args.train else model_free(args.root)
    for k, v in out.items():
        print(f'{k:<28}', ' / '.join(f'{x:.1f}' for x in v)
              if isinstance(v, tuple) else v)


if __name__ == '__main__':
    main()
