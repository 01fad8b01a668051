"""DiVE's vocabulary: code words, identity tokens, captions and the files
the fine-tuning reads; external identities and their label offsets."""
import json
import os
import os.path as osp
import string
from collections import Counter

import pytest

from plugins.dive import (DiVEExternalDataset, build_vocabulary,
                          random_code_words, run_vocabulary)
from reidkit.datasets import SYSUMM01


def test_code_words_are_disjoint_like_the_authors():
    words = random_code_words(7, 4, seed=3)
    assert len(words) == 7 and all(len(w) == 4 for w in words)
    chars = ''.join(words)
    assert len(set(chars)) == 28  # no character shared between two words
    assert set(chars) <= set(string.ascii_letters + string.digits)
    assert words == random_code_words(7, 4, seed=3)
    assert words != random_code_words(7, 4, seed=4)
    # the paper's 8 characters: 19 LLCM views cannot be disjoint -> distinct
    long = random_code_words(19, 8, seed=0)
    assert len(set(long)) == 19 and all(len(w) == 8 for w in long)
    with pytest.raises(ValueError, match='cannot be disjoint'):
        random_code_words(19, 8, disjoint=True)


def _vi_ext(toy_sysu, toy_market):
    vi = SYSUMM01(toy_sysu, split='train')
    ext = DiVEExternalDataset(toy_market, folder='bounding_box_train',
                              min_images=12)
    return ([vi[i] for i in range(len(vi))],
            [ext[i] for i in range(len(ext))])


def test_vocabulary_per_camera_authors_code(toy_sysu, toy_market):
    vi, ext = _vi_ext(toy_sysu, toy_market)
    voc = build_vocabulary(vi, ext, seed=0)
    n_vi = len({s['pid'] for s in vi})
    n_ext = len({s['pid'] for s in ext})
    assert voc['num_vi_ids'] == n_vi
    assert voc['tokens'] == [f'<p{y}>' for y in range(n_vi + n_ext)]
    # SYSU: visible cameras 1, 2, 4, 5, infrared 3, 6, plus the external set
    assert sorted(voc['codes']) == ['ext', 'i3', 'i6', 'v1', 'v2', 'v4',
                                    'v5']
    assert all(len(c) == 4 for c in voc['codes'].values())
    for s in vi:
        cap = voc['captions'][s['img_path']]
        view = f"{'vi'[s['modality']]}{s['camid']}"
        assert cap == dict(caption=f"a {voc['codes'][view]} photo of a "
                                   f"<p{s['pid']}> person",
                           adapter='default')
    for s in ext:
        assert voc['captions'][s['img_path']]['caption'] == \
            f"a {voc['codes']['ext']} photo of a <p{n_vi + s['pid']}> person"
    # one token per identity, shared by its visible and infrared images
    by_token = {}
    for s in vi:
        tok = voc['captions'][s['img_path']]['caption'].split()[5]
        by_token.setdefault(tok, set()).add(s['modality'])
    assert all(m == {0, 1} for m in by_token.values())


def test_vocabulary_per_modality_paper_text(toy_sysu, toy_market):
    vi, ext = _vi_ext(toy_sysu, toy_market)
    voc = build_vocabulary(vi, ext, granularity='modality', code_length=8,
                           lora='modality', seed=1)
    assert sorted(voc['codes']) == ['infrared', 'visible']
    assert all(len(c) == 8 for c in voc['codes'].values())
    for s in vi + ext:
        cap = voc['captions'][s['img_path']]
        m = s['modality'] if s in vi else 0
        assert cap['adapter'] == ('visible', 'infrared')[m]
        assert voc['codes'][cap['adapter']] in cap['caption']


def test_external_identities_have_at_least_min_images(toy_market):
    folder = osp.join(toy_market, 'bounding_box_train')
    counts = Counter(int(n[:4]) for n in os.listdir(folder)
                     if n.endswith('.jpg'))
    for k in (1, 12, 14):
        expect = sorted(p for p, c in counts.items() if c >= k and p > 0)
        if not expect:
            continue
        ds = DiVEExternalDataset(toy_market, folder='bounding_box_train',
                                 min_images=k)
        assert sorted({s['orig_pid'] for s in ds}) == expect
        assert len(ds) == sum(counts[p] for p in expect)
        assert {s['camid'] for s in ds} == {7}
        assert {s['modality'] for s in ds} == {0}
    capped = DiVEExternalDataset(toy_market, folder='bounding_box_train',
                                 min_images=1, max_ids=2)
    assert sorted({s['orig_pid'] for s in capped}) == sorted(counts)[:2]


def test_external_dataset_names_a_missing_folder(toy_market):
    from reidkit.datasets import LayoutError
    with pytest.raises(LayoutError, match='gt_bbox'):
        DiVEExternalDataset(toy_market)


def test_run_vocabulary_writes_the_fine_tuning_files(toy_sysu, toy_market,
                                                     tmp_path):
    from synthgen.finetune.dataset import CaptionedImageDataset
    from synthgen.finetune.model import _read_tokens
    files = run_vocabulary(
        dict(type='SYSUMM01', data_root=toy_sysu, split='train'),
        dict(type='DiVEExternalDataset', data_root=toy_market,
             folder='bounding_box_train', min_images=12),
        str(tmp_path / 'voc'))
    tokens = _read_tokens(dict(tokens_file=files['tokens']))
    ds = CaptionedImageDataset(str(tmp_path), files['captions'],
                               size=(64, 32))
    assert len(ds) == len(json.load(open(files['captions'])))
    captions = {ds.data_list[i]['caption'] for i in range(len(ds))}
    assert {c.split()[5] for c in captions} == set(tokens)
    gen = json.load(open(files['gen_identities']))
    ext = DiVEExternalDataset(toy_market, folder='bounding_box_train',
                              min_images=12)
    n_vi = json.load(open(files['codes']))['num_vi_ids']
    assert [g['pid'] for g in gen] == sorted({s['orig_pid'] for s in ext})
    assert [g['token'] for g in gen] == \
        [f'<p{n_vi + e}>' for e in range(len(gen))]
    # a rerun keeps the files (and so the code words the LoRA learned)
    before = open(files['codes']).read()
    run_vocabulary(dict(type='SYSUMM01', data_root=toy_sysu, split='train'),
                   None, str(tmp_path / 'voc'), seed=5)
    assert open(files['codes']).read() == before
