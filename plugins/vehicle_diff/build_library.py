"""Build Vehicle-Diff's prompt library from a user's CSV/JSON, or the toy one.

Usage::

    # a table with brand, model, year, body_style, color (one identity a row)
    python -m plugins.vehicle_diff.build_library cars.csv work_dirs/vd/library.csv
    # a catalogue of models without colours: one identity per model and colour
    python -m plugins.vehicle_diff.build_library models.json lib.csv --cross-colors
    # the toy world's vocabulary (all 1,386 combinations, or --num-ids N)
    python -m plugins.vehicle_diff.build_library --toy lib.csv --num-ids 200

The output (CSV, JSON or JSONL by extension) has ``pid`` plus the five
columns; repeated combinations are dropped. It prints the identity count and
three example prompts.
"""
from __future__ import annotations

import argparse
import sys

from reidkit.utils.cli import run_cli

from .library import (COLORS, TEMPLATE, prompt_of, read_library, toy_library,
                      write_library)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('input', nargs='?', help='CSV / JSON / JSONL of vehicles')
    p.add_argument('out', help='library file to write (.csv, .json, .jsonl)')
    p.add_argument('--toy', action='store_true',
                   help="use the toy world's vehicle vocabulary as input")
    p.add_argument('--num-ids', type=int, default=None,
                   help='toy: draw this many identities (seeded)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--cross-colors', nargs='*', default=None,
                   metavar='COLOR',
                   help='input has no colour column: one identity per model '
                   f'and colour (default list: {" ".join(COLORS)})')
    p.add_argument('--any-color', action='store_true',
                   help='allow colours outside the CLIP filter list')
    p.add_argument('--template', default=TEMPLATE)
    args = p.parse_args(argv)
    if args.toy == (args.input is not None):
        p.error('give either an input file or --toy')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.toy:
        rows = toy_library(args.num_ids, args.seed)
    else:
        cross = None
        if args.cross_colors is not None:
            cross = args.cross_colors or list(COLORS)
        rows = read_library(args.input, cross_colors=cross,
                            colors=None if args.any_color else COLORS)
    write_library(rows, args.out)
    print(f'{len(rows)} identities -> {args.out}')
    for row in rows[:3]:
        print('  ' + prompt_of(row, args.template))
    return rows


if __name__ == '__main__':
    run_cli(main, sys.argv[1:])
