"""SyntheticDataset (synthgen manifests) and ReIDConcatDataset."""
from __future__ import annotations

import json
import os.path as osp
import warnings

import pytest

import reidkit.datasets  # noqa: F401
from reidkit.datasets import ManifestError, read_manifest
from reidkit.registry import DATASETS

from reid_fixture_trees import build_market, touch


def line(path, pid, camid, clothes_id=None, source=None, **extra):
    d = dict(path=path, pid=pid, camid=camid, domain=1, unit=f'u{pid}',
             generator='toy', prompt=f'a photo of person {pid}', seed=7,
             source=source, filters=['size'])
    if clothes_id is not None:
        d['clothes_id'] = clothes_id
    d.update(extra)
    return json.dumps(d)


def write_manifest(folder, lines, name='manifest.rank0.jsonl', end='\n'):
    for ln in lines:
        try:
            touch(osp.join(folder, json.loads(ln)['path']))
        except (ValueError, TypeError, KeyError):  # broken or bookkeeping
            pass
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + end)
    return path


def samples(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_reads_labels_and_provenance(tmp_path):
    root = str(tmp_path)
    write_manifest(root, [
        line('imgs/a.jpg', 40, 1, clothes_id=0,
             attributes=dict(upper='red')),
        line('imgs/b.jpg', 40, 2, clothes_id=1, modality=1),
        line('imgs/c.jpg', 17, 1)])
    ds = DATASETS.build(dict(type='SyntheticDataset', data_root=root))
    items = samples(ds)
    assert [osp.basename(s['img_path']) for s in items] == ['a.jpg', 'b.jpg',
                                                           'c.jpg']
    assert all(osp.isabs(s['img_path']) for s in items)
    # 'new' relabels the distinct pids in id order: 17 -> 0, 40 -> 1
    assert [s['pid'] for s in items] == [1, 1, 0]
    assert [s['orig_pid'] for s in items] == [40, 40, 17]
    assert [s['clothes_id'] for s in items] == [0, 1, -1]
    assert [s['modality'] for s in items] == [0, 1, 0]
    assert all(s['domain'] == 1 and s['split'] == 'train' for s in items)
    assert items[0]['attributes'] == dict(upper='red')
    assert items[0]['provenance']['generator'] == 'toy'
    assert items[0]['provenance']['line'] == 1
    m = ds.metainfo
    assert (m['num_pids'], m['num_cams'], m['num_clothes'],
            m['num_images']) == (2, 2, 2, 3)


def test_pid_modes(tmp_path):
    root = str(tmp_path)
    write_manifest(root, [line('a.jpg', 5, 1, source='real/0005_c1.jpg'),
                          line('b.jpg', 9, 1, source='real/0009_c2.jpg'),
                          line('c.jpg', 100, 1), line('d.jpg', 101, 2)])

    def pids(**kw):
        return [s['pid'] for s in samples(DATASETS.build(
            dict(type='SyntheticDataset', data_root=root, **kw)))]

    assert pids(pid_mode='new', pid_offset=10) == [10, 11, 12, 13]
    assert pids(pid_mode='keep', pid_offset=1) == [6, 10, 101, 102]
    # shared: real-sourced lines take the real train label, others follow
    assert pids(pid_mode='shared', pid2label={5: 0, 9: 1, 12: 2}) == \
        [0, 1, 3, 4]
    assert pids(pid_mode='shared', pid2label={5: 0, 9: 1},
                pid_offset=50) == [0, 1, 50, 51]
    with pytest.raises(ManifestError, match='pid2label'):
        pids(pid_mode='shared', pid2label={5: 0})
    with pytest.raises(ValueError, match='pid_mode'):
        pids(pid_mode='merge')


def test_several_shards_and_explicit_list(tmp_path):
    root = str(tmp_path)
    write_manifest(root, [line('r0.jpg', 1, 1)], 'manifest.rank0.jsonl')
    write_manifest(root, [line('r1.jpg', 2, 1)], 'manifest.rank1.jsonl')
    write_manifest(root, [line('other.jpg', 3, 1)], 'notes.jsonl')
    ds = DATASETS.build(dict(type='SyntheticDataset', data_root=root))
    assert len(ds) == 2
    ds = DATASETS.build(dict(type='SyntheticDataset', data_root=root,
                             manifests=['notes.jsonl']))
    assert len(ds) == 1
    ds = DATASETS.build(dict(type='SyntheticDataset',
                             manifests=[osp.join(root, 'notes.jsonl')]))
    assert len(ds) == 1


def test_truncated_last_line_is_skipped_with_warning(tmp_path):
    root = str(tmp_path)
    good = [line('a.jpg', 1, 1), line('b.jpg', 2, 1)]
    partial = line('c.jpg', 3, 1)[:25]  # a writer killed mid-line
    path = write_manifest(root, good + [partial], end='')
    with pytest.warns(UserWarning, match='truncated last line 3'):
        entries = read_manifest(path)
    assert [e['path'] for e in entries] == ['a.jpg', 'b.jpg']
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        ds = DATASETS.build(dict(type='SyntheticDataset', data_root=root))
    assert len(ds) == 2



def test_one_parser_with_synthgen(tmp_path):
    # SyntheticDataset reads manifests through synthgen's parser
    import synthgen.manifest
    assert ManifestError is synthgen.manifest.ManifestError
    # a manifest from another tool: no completion records, and its valid
    # last line without a newline is an image line like the others
    root = str(tmp_path)
    write_manifest(root, [line('a.jpg', 1, 1), line('b.jpg', 2, 1)], end='')
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ds = DATASETS.build(dict(type='SyntheticDataset', data_root=root))
    assert [s['provenance']['line'] for s in samples(ds)] == [1, 2]

def test_bad_lines_raise_with_file_and_line(tmp_path):
    root = str(tmp_path)
    path = write_manifest(root, [line('a.jpg', 1, 1), '{"path": "b.jpg", ',
                                 line('c.jpg', 3, 1)])
    with pytest.raises(ManifestError, match=r'manifest.rank0.jsonl:2: not '
                       'valid JSON'):
        read_manifest(path)
    # an invalid *complete* last line (newline written) is an error too
    path = write_manifest(root, [line('a.jpg', 1, 1), 'nonsense'])
    with pytest.raises(ManifestError, match=':2:'):
        read_manifest(path)
    bad = json.loads(line('a.jpg', 1, 1))
    del bad['generator']
    path = write_manifest(root, [line('a.jpg', 1, 1), json.dumps(bad)])
    with pytest.raises(ManifestError, match=r":2: missing key\(s\) "
                       r"\['generator'\]"):
        DATASETS.build(dict(type='SyntheticDataset', data_root=root))
    path = write_manifest(root, ['[1, 2]'])
    with pytest.raises(ManifestError, match='JSON object'):
        read_manifest(path)


def test_missing_image_and_missing_manifest(tmp_path):
    root = str(tmp_path)
    path = write_manifest(root, [line('a.jpg', 1, 1)])
    with open(path, 'a') as f:
        f.write(line('ghost.jpg', 2, 1) + '\n')
    with pytest.raises(ManifestError, match='ghost.jpg'):
        DATASETS.build(dict(type='SyntheticDataset', data_root=root))
    ds = DATASETS.build(dict(type='SyntheticDataset', data_root=root,
                             check_files=False))
    assert len(ds) == 2
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='no manifest'):
        DATASETS.build(dict(type='SyntheticDataset', data_root=str(empty)))
    with pytest.raises(ValueError, match='train'):
        DATASETS.build(dict(type='SyntheticDataset', data_root=root,
                            split='query'))


# ------------------------------------------------------------ concatenation
def test_concat_real_and_synthetic_relabels_consistently(tmp_path):
    real = build_market(str(tmp_path / 'market'))  # train ids 2, 7, 11
    syn = str(tmp_path / 'syn')
    # synthgen's convention: pid = the real train label, source_pid = the
    # benchmark id (b.jpg has no source_pid: its pid alone must do)
    write_manifest(syn, [
        line('s/a.jpg', 1, 1, source='bounding_box_train/0007_c3.jpg',
             source_pid=7),
        line('s/b.jpg', 0, 4, source='bounding_box_train/0002_c1.jpg'),
        line('s/c.jpg', 900, 1, clothes_id=0),
        line('s/d.jpg', 901, 2)])
    ds = DATASETS.build(dict(
        type='ReIDConcatDataset',
        datasets=[dict(type='Market1501', data_root=real.root),
                  dict(type='SyntheticDataset', data_root=syn,
                       pid_mode='shared')]))
    items = samples(ds)
    market = [s for s in items if s['domain'] == 0]
    synth = [s for s in items if s['domain'] == 1]
    # the real train labels are those of Market1501 alone
    alone = samples(DATASETS.build(dict(type='Market1501',
                                        data_root=real.root)))
    assert [s['pid'] for s in market] == [s['pid'] for s in alone]
    label = {s['orig_pid']: s['pid'] for s in market}
    assert label == {2: 0, 7: 1, 11: 2}
    by_name = {osp.basename(s['img_path']): s for s in synth}
    assert by_name['a.jpg']['pid'] == label[7]
    assert by_name['b.jpg']['pid'] == label[2]
    assert {by_name['c.jpg']['pid'], by_name['d.jpg']['pid']} == {3, 4}
    assert by_name['c.jpg']['clothes_id'] == 0
    m = ds.metainfo
    assert (m['num_pids'], m['num_images'], m['num_real'],
            m['num_synthetic']) == (5, 10, 6, 4)
    assert m['protocol'] == 'market'

    new = DATASETS.build(dict(
        type='ReIDConcatDataset',
        datasets=[dict(type='Market1501', data_root=real.root),
                  dict(type='SyntheticDataset', data_root=syn)]))
    assert new.metainfo['num_pids'] == 3 + 4  # every synthetic id is new
    assert sorted({s['pid'] for s in samples(new)}) == list(range(7))


def test_concat_errors(tmp_path):
    real = build_market(str(tmp_path / 'market'))
    syn = str(tmp_path / 'syn')
    for extra in (dict(), dict(source_pid=99)):
        write_manifest(syn, [line('s/a.jpg', 99, 1, source='x.jpg', **extra)])
        with pytest.raises(ValueError, match='no such identity'):
            DATASETS.build(dict(
                type='ReIDConcatDataset',
                datasets=[dict(type='Market1501', data_root=real.root),
                          dict(type='SyntheticDataset', data_root=syn,
                               pid_mode='shared')]))
    with pytest.raises(ValueError, match='cannot mix'):
        DATASETS.build(dict(
            type='ReIDConcatDataset',
            datasets=[dict(type='Market1501', data_root=real.root),
                      dict(type='Market1501', data_root=real.root,
                           split='query')]))
    test = DATASETS.build(dict(
        type='ReIDConcatDataset',
        datasets=[dict(type='Market1501', data_root=real.root, split='test')]))
    assert len(test) == 6 and test.metainfo['split'] == 'test'


def done(unit):
    return json.dumps(dict(kind='unit_done', unit=unit, rank=0, kept=1))


def test_committed_blocks_only(tmp_path):
    root = str(tmp_path)
    # rank 0: unit 0 committed, unit 2 committed, then unit 4 never committed
    write_manifest(root, [line('a.jpg', 1, 1, unit=0), done(0),
                          line('b.jpg', 2, 1, unit=2), done(2),
                          line('c.jpg', 3, 1, unit=4)],
                   'manifest.rank0.jsonl')
    # rank 10 re-committed unit 2 after a resume with another world size,
    # rank 2 holds unit 1; shards are read in rank order (2 before 10)
    write_manifest(root, [line('b2.jpg', 2, 1, unit=2), done(2),
                          line('d.jpg', 4, 2, unit=5), done(5)],
                   'manifest.rank10.jsonl')
    write_manifest(root, [line('e.jpg', 5, 1, unit=1), done(1)],
                   'manifest.rank2.jsonl')
    with pytest.warns(UserWarning, match='1 image line'):
        ds = DATASETS.build(dict(type='SyntheticDataset', data_root=root))
    names = [osp.basename(s['img_path']) for s in samples(ds)]
    assert names == ['a.jpg', 'b.jpg', 'e.jpg', 'd.jpg']
    assert [s['provenance']['unit'] for s in samples(ds)] == [0, 2, 1, 5]
    with pytest.warns(UserWarning, match='not committed'):
        assert [e['path'] for e in read_manifest(
            osp.join(root, 'manifest.rank0.jsonl'))] == ['a.jpg', 'b.jpg']
    everything = DATASETS.build(dict(type='SyntheticDataset', data_root=root,
                                     committed_only=False))
    assert len(everything) == 6
