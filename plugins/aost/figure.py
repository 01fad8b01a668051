"""Sample sheet of an AOST run: source / selected / translated images.

    python -m plugins.aost.figure WORK_DIR FINEGPR_ROOT OUT.png [--n 8]

Row 1: random FineGPR images; row 2: images of the selected subset
(``WORK_DIR/aost/selected.txt``); row 3: the same selected images after
translation (``WORK_DIR/translated``, matched by their source path);
row 4 (``--target-glob``): images of the target.
"""
from __future__ import annotations

import argparse
import os.path as osp

import numpy as np
from PIL import Image, ImageDraw


def sample_sheet(work_dir: str, source_root: str, n: int = 8, seed: int = 0,
                 size=(128, 64), target_glob: str = None) -> Image.Image:
    from reidkit.datasets.synthetic import SyntheticDataset

    from .stages import finegpr_records
    rng = np.random.default_rng(seed)
    pool = finegpr_records(source_root)
    sel_file = osp.join(work_dir, 'aost', 'selected.txt')
    with open(sel_file, encoding='utf-8') as f:
        selected = [osp.join(source_root, ln.strip()) for ln in f if ln.strip()]
    src = [pool[i]['img_path'] for i in rng.choice(len(pool), min(n, len(pool)),
                                                  replace=False)]
    pick = [selected[i] for i in rng.choice(len(selected), min(n, len(selected)),
                                            replace=False)]
    trans = SyntheticDataset(osp.join(work_dir, 'translated'))
    by_source = {osp.abspath(trans.get_data_info(i)['provenance']['source']):
                 trans.get_data_info(i)['img_path'] for i in range(len(trans))}
    rows = [('source (random)', src), ('selected (AO)', pick),
            ('translated (AOST)', [by_source.get(osp.abspath(p)) for p in pick])]
    if target_glob:
        import glob
        tgt = sorted(glob.glob(target_glob))
        rows.append(('target (real)', [tgt[i] for i in rng.choice(
            len(tgt), min(n, len(tgt)), replace=False)]))
    h, w = size
    label_w = 120
    sheet = Image.new('RGB', (label_w + n * (w + 4), len(rows) * (h + 4)), 'white')
    draw = ImageDraw.Draw(sheet)
    for r, (label, paths) in enumerate(rows):
        y = r * (h + 4)
        draw.text((4, y + h // 2 - 6), label, fill='black')
        for c, p in enumerate(paths):
            if p is None:
                continue
            with Image.open(p) as im:
                sheet.paste(im.convert('RGB').resize((w, h)), (label_w + c * (w + 4), y))
    return sheet


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('work_dir')
    ap.add_argument('source_root')
    ap.add_argument('out')
    ap.add_argument('--n', type=int, default=8)
    ap.add_argument('--target-glob', help='target images for a fourth row')
    args = ap.parse_args(argv)
    sample_sheet(args.work_dir, args.source_root, args.n,
                 target_glob=args.target_glob).save(args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
