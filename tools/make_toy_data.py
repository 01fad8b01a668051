#!/usr/bin/env python
"""Write a toy dataset in an official benchmark layout.

Usage:
    python tools/make_toy_data.py KIND OUT [--ids N] [--seed S] [--size HxW]
                                  [--workers W] [--overwrite] [--knob k=v ...]

KIND is one of market1501, msmt17, prcc, ltcc, vc_clothes, sysu_mm01, llcm,
veri776, vehicleid, cityflow_v2, finegpr, or ``all`` (every layout into
OUT/<kind>/). Masks and attributes go to OUT/_toy_annotations/; OUT/.complete
is written last, so a killed run is never mistaken for a complete one.
Difficulty knobs (see synthgen.toyworld.Knobs), e.g. ``--knob
lookalike_frac=0.5 --knob camera_strength=1.5``.
"""
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from reidkit.utils.cli import ReIDInputError, run_cli  # noqa: E402
from synthgen.toyworld import KINDS, make_dataset  # noqa: E402


def parse_knobs(items):
    """``NAME=VALUE`` strings -> ``{name: number}``; a bad one names the knob."""
    import dataclasses
    import difflib
    from synthgen.toyworld.world import Knobs
    names = [f.name for f in dataclasses.fields(Knobs)]
    knobs = {}
    for item in items or []:
        if '=' not in item:
            raise ReIDInputError(f'--knob {item!r}: expected NAME=VALUE')
        k, v = item.split('=', 1)
        if k not in names:
            close = difflib.get_close_matches(k, names, n=3)
            hint = f' Did you mean {", ".join(close)}?' if close else ''
            raise ReIDInputError(f'--knob {item!r}: no knob named {k!r}.'
                             f'{hint} Knobs: {", ".join(names)}')
        kind = int if k == 'vehicle_group_size' else float
        try:
            knobs[k] = kind(v)
        except ValueError:
            raise ReIDInputError(f'--knob {item!r}: {k} expects '
                             f'{"an integer" if kind is int else "a number"}'
                             f', got {v!r}') from None
    return knobs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('kind', choices=list(KINDS) + ['all'])
    ap.add_argument('out')
    ap.add_argument('--ids', type=int, default=None,
                    help='number of identities (default: small, per kind)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--size', default=None,
                    help='HxW (default 128x64 persons, 128x128 vehicles)')
    ap.add_argument('--workers', type=int, default=None)
    ap.add_argument('--overwrite', action='store_true',
                    help='replace a non-empty OUT that holds something else')
    ap.add_argument('--knob', action='append', metavar='NAME=VALUE')
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        make_dataset(args.kind, args.out, num_ids=args.ids, seed=args.seed,
                     size=args.size, workers=args.workers, overwrite=args.overwrite,
                     knobs=parse_knobs(args.knob), verbose=True)
    except (ValueError, FileExistsError) as e:
        raise ReIDInputError(str(e)) from e
    print(f'done in {time.perf_counter() - t0:.2f}s')


if __name__ == '__main__':
    run_cli(main)
