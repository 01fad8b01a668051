"""Vehicle-Diff prompt library: file format, user-file tool, toy library, prompts."""
import csv
import json
import subprocess
import sys
import os.path as osp

import pytest

from plugins.vehicle_diff.build_library import main as build_main
from plugins.vehicle_diff.library import (TEMPLATE, LibraryError, prompt_of,
                                          read_library, toy_attributes,
                                          toy_library, write_library)
from synthgen.prompts.templates import AttributeTemplatePrompt
from synthgen.sources import PromptLibrarySource

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def test_paper_template_words():
    row = dict(brand='toyota', model='corolla', year=2018, body_style='sedan',
               color='white')
    assert prompt_of(row) == ('a white 2018 toyota corolla sedan driving down '
                              'the road.')


def test_user_csv_aliases_dedupe_and_pids(tmp_path):
    src = tmp_path / 'cars.csv'
    src.write_text('Make,Car Model,Production Year,Body Style,Colour,trim\n'
                   'Toyota,Corolla,2018,Sedan,White,LE\n'
                   'Ford,F-150,2015,Pickup  Truck,Red,XL\n'
                   'toyota,corolla,2018,sedan,white,SE\n'     # same identity
                   'Ford,F-150,2015,Pickup Truck,Blue,XL\n')
    rows = read_library(str(src))
    assert [r['pid'] for r in rows] == [0, 1, 2]
    assert rows[1] == dict(pid=1, brand='ford', model='f-150', year='2015',
                           body_style='pickup truck', color='red', trim='XL')
    out = tmp_path / 'lib.csv'
    write_library(rows, str(out))
    with open(out) as f:
        header = next(csv.reader(f))
    assert header[:6] == ['pid', 'brand', 'model', 'year', 'body_style',
                          'color']
    assert read_library(str(out)) == rows


def test_missing_column_and_unknown_colour_are_named(tmp_path):
    src = tmp_path / 'bad.json'
    src.write_text(json.dumps([dict(brand='a', model='b', year=1, color='red')]))
    with pytest.raises(LibraryError, match=r"row 0 lacks \['body_style'\]"):
        read_library(str(src))
    src.write_text(json.dumps([dict(brand='a', model='b', year=1,
                                    body_style='suv', color='teal')]))
    with pytest.raises(LibraryError, match="colour 'teal'"):
        read_library(str(src), colors=['red', 'blue'])


def test_catalogue_crossed_with_colours(tmp_path):
    src = tmp_path / 'models.json'
    src.write_text(json.dumps([dict(brand='bmw', model='x5', year=2019,
                                    body_style='suv')]))
    rows = build_main([str(src), str(tmp_path / 'lib.jsonl'),
                       '--cross-colors', 'red', 'black'])
    assert [(r['color'], r['pid']) for r in rows] == [('red', 0), ('black', 1)]


def test_toy_library_is_every_combination_once():
    rows = toy_library()
    assert len(rows) == 6 * 7 * 3 * 11
    combos = {(r['brand'], r['model'], r['year'], r['body_style'], r['color'])
              for r in rows}
    assert len(combos) == len(rows)
    some = toy_library(50, seed=1)
    assert len(some) == 50 and some == toy_library(50, seed=1)
    assert toy_attributes(dict(brand='aurel', year=2010, body_style='suv',
                               color='red')) == dict(
        brand='aurel', vehicle_type='suv', era='modern', color='red')


def test_library_feeds_source_and_template(tmp_path):
    lib = write_library(toy_library(5, seed=0), str(tmp_path / 'lib.csv'))
    recs = PromptLibrarySource(lib).load()
    assert [r['pid'] for r in recs] == [0, 1, 2, 3, 4]
    builder = AttributeTemplatePrompt(TEMPLATE)
    reqs = [dict(seed=0, attributes=r['attributes']) for r in recs]
    builder(reqs)
    row = toy_library(5, seed=0)[0]
    assert reqs[0]['prompt'] == prompt_of(row)


def test_cli_bad_input_exits_2(tmp_path):
    res = subprocess.run([sys.executable, '-m',
                          'plugins.vehicle_diff.build_library',
                          str(tmp_path / 'nope.csv'), str(tmp_path / 'o.csv')],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 2
    assert 'nope.csv does not exist' in res.stderr
    assert 'Traceback' not in res.stderr
