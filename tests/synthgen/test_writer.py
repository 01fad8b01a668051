"""ShardWriter + manifest reading: every crash state a SIGKILL can leave."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from synthgen.manifest import (ManifestError, parse_shard, read_done_units,
                               read_manifest, shard_path)
from synthgen.writer import PlanMismatchError, ShardWriter


def _img(v):
    return np.full((16, 8, 3), v, np.uint8)


def _commit(w, unit, variants):
    return w.commit_unit(unit, [(k, _img(10 * unit + k), dict(pid=unit, unit=unit,
                                                              variant=k))
                                for k in variants],
                         dict(kept=len(variants), dropped={}))


def _files(out):
    found = []
    for root, _, names in os.walk(osp.join(out, 'images')):
        found += [osp.relpath(osp.join(root, n), out) for n in names]
    return sorted(found)


def test_commit_and_read(tmp_path):
    out = str(tmp_path)
    w = ShardWriter(out, img_format='png')
    assert w.resume() == {}
    _commit(w, 0, [0, 1])
    _commit(w, 1, [])            # a unit whose images were all dropped
    w.close()
    recs = read_manifest(out)
    assert [(r['unit'], r['variant']) for r in recs] == [(0, 0), (0, 1)]
    assert recs[0]['path'] == 'images/00000/00000000_000.png'
    assert (np.asarray(Image.open(osp.join(out, recs[1]['path']))) == 1).all()
    assert set(read_done_units(out)) == {0, 1}
    assert ShardWriter(out).resume().keys() == {0, 1}


def test_resume_repairs_every_crash_state(tmp_path):
    out = str(tmp_path)
    w = ShardWriter(out, img_format='png')
    w.resume()
    for u in range(3):
        _commit(w, u, [0, 1])
    w.close()
    committed = osp.getsize(shard_path(out, 0))
    img_dir = osp.join(out, 'images', '00000')
    # killed while writing an image (temp file left)
    open(osp.join(img_dir, '00000003_000.png.tmp'), 'wb').write(b'\x89PNG\r')
    # killed after the rename, before the manifest append
    Image.fromarray(_img(7)).save(osp.join(img_dir, '00000004_001.png'))
    # a torn append: lines of unit 5 without their unit_done, then a cut line
    with open(shard_path(out, 0), 'a') as f:
        f.write(json.dumps(dict(path='images/00000/00000005_000.png', unit=5))
                + '\n{"path": "images/000')
    Image.fromarray(_img(5)).save(osp.join(img_dir, '00000005_000.png'))
    # a file that is not ours is left alone
    open(osp.join(img_dir, 'README'), 'w').write('hi')

    state = parse_shard(shard_path(out, 0))
    assert state.committed_bytes == committed and state.uncommitted_bytes > 0
    assert set(state.done) == {0, 1, 2}

    w = ShardWriter(out, img_format='png')
    assert set(w.resume()) == {0, 1, 2}
    assert osp.getsize(shard_path(out, 0)) == committed
    assert _files(out) == sorted(
        [f'images/00000/0000000{u}_00{k}.png' for u in range(3)
         for k in range(2)] + ['images/00000/README'])
    _commit(w, 5, [0])
    _commit(w, 4, [1])
    w.close()
    with open(shard_path(out, 0)) as f:
        lines = [json.loads(line) for line in f]   # every line valid
    recs = read_manifest(out)
    keys = [(r['unit'], r['variant']) for r in recs]
    assert keys == sorted(set(keys)) and len(keys) == 8
    assert set(read_done_units(out)) == {0, 1, 2, 4, 5}
    assert sum(1 for r in lines if r.get('kind') == 'unit_done') == 5


def test_other_shards_after_world_size_change(tmp_path):
    out = str(tmp_path)
    # a 2-rank run: rank 1 committed unit 1 and was killed inside unit 3
    w1 = ShardWriter(out, rank=1, world_size=2, img_format='png')
    w1.resume()
    _commit(w1, 1, [0])
    w1.close()
    size1 = osp.getsize(shard_path(out, 1))
    with open(shard_path(out, 1), 'a') as f:
        f.write(json.dumps(dict(path='images/00000/00000003_000.png', unit=3))
                + '\n')
    os.makedirs(osp.join(out, 'images/00000'), exist_ok=True)
    Image.fromarray(_img(3)).save(osp.join(out, 'images/00000/00000003_000.png'))
    # resumed on one rank: unit 1 is done, unit 3 is not, its image is an orphan
    w0 = ShardWriter(out, rank=0, world_size=1, img_format='png')
    assert set(w0.resume()) == {1}
    assert osp.getsize(shard_path(out, 1)) > size1    # not ours: not rewritten
    assert _files(out) == ['images/00000/00000001_000.png']
    _commit(w0, 3, [0])
    w0.close()
    assert [(r['unit'], r['variant']) for r in read_manifest(out)] == \
        [(1, 0), (3, 0)]


def test_unit_in_two_shards_counts_once(tmp_path):
    out = str(tmp_path)
    for rank in (0, 1):
        w = ShardWriter(out, rank=rank, world_size=2, img_format='png')
        _commit(w, 2, [0, 1])
        w.close()
    assert len(read_manifest(out)) == 2


@pytest.mark.parametrize('fsync', [False, 'batch', True])
def test_commit_units_batch(tmp_path, fsync):
    out = str(tmp_path)
    w = ShardWriter(out, img_format='jpg', fsync=fsync)
    w.resume()
    w.commit_units([(u, [(0, _img(u), dict(unit=u, variant=0))],
                     dict(kept=1)) for u in (4, 2, 9)])
    w.close()
    assert sorted(read_done_units(out)) == [2, 4, 9]
    assert [r['path'] for r in read_manifest(out)] == [
        'images/00000/00000002_000.jpg', 'images/00000/00000004_000.jpg',
        'images/00000/00000009_000.jpg']
    with pytest.raises(ValueError, match='fsync'):
        ShardWriter(out, fsync='always')


def test_corrupt_line_is_reported(tmp_path):
    out = str(tmp_path)
    w = ShardWriter(out)
    _commit(w, 0, [0])
    w.close()
    with open(shard_path(out, 0), 'a') as f:
        f.write('{oops\n' + json.dumps(dict(kind='unit_done', unit=1)) + '\n')
    with pytest.raises(ManifestError,
                       match=r'manifest.rank0.jsonl:3: not valid JSON'):
        read_manifest(out)



def _raw_shard(tmp_path, text):
    path = str(tmp_path / 'manifest.rank0.jsonl')
    with open(path, 'wb') as f:
        f.write(text if isinstance(text, bytes) else text.encode('utf-8'))
    return path


def _image_line(unit, name):
    return json.dumps(dict(path=name, unit=unit))


def _done_line(unit):
    return json.dumps(dict(kind='unit_done', unit=unit))


def test_parse_shard_blocks_pending_and_cut_line(tmp_path):
    body = '\n'.join([_image_line(0, 'a.jpg'), _done_line(0), '',
                      json.dumps(dict(kind='note')),  # bookkeeping: skipped
                      _image_line(1, 'b.jpg')]) + '\n'
    state = parse_shard(_raw_shard(tmp_path, body), line_key='_line')
    assert [(r['path'], r['_line']) for r in state.images] == [('a.jpg', 1)]
    assert [(r['path'], r['_line']) for r in state.pending] == [('b.jpg', 5)]
    assert list(state.done) == [0] and state.cut_line == 0
    assert state.committed_bytes == \
        len(_image_line(0, 'a.jpg') + _done_line(0)) + 2
    # without line_key the records are the lines as written
    assert parse_shard(state.path).images == [dict(path='a.jpg', unit=0)]
    # a last line cut short (here inside a 2-byte character) is reported
    cut = '{"path": "\u00e9'.encode('utf-8')[:-1]
    state = parse_shard(_raw_shard(tmp_path, body.encode('utf-8') + cut))
    assert state.cut_line == 6 and len(state.pending) == 1
    # a complete JSON object without its newline: an image line is pending,
    # a completion record commits nothing (the writer cuts it on resume)
    state = parse_shard(_raw_shard(tmp_path, body + _image_line(1, 'c.jpg')))
    assert [r['path'] for r in state.pending] == ['b.jpg', 'c.jpg']
    committed = state.committed_bytes
    state = parse_shard(_raw_shard(tmp_path, body + _done_line(1)))
    assert list(state.done) == [0] and len(state.pending) == 1
    assert state.committed_bytes == committed


def test_parse_shard_rejects_misplaced_completion_records(tmp_path):
    path = _raw_shard(tmp_path,
                      _image_line(0, 'a.jpg') + '\n' + _done_line(1) + '\n')
    with pytest.raises(ManifestError, match=r'rank0.jsonl:2: completion '
                       'record of unit 1 follows image lines of unit 0'):
        parse_shard(path)
    path = _raw_shard(tmp_path, json.dumps(dict(kind='unit_done')) + '\n')
    with pytest.raises(ManifestError, match=':1: a unit_done record needs '
                       'an integer unit'):
        parse_shard(path)
    with pytest.raises(ManifestError, match=':1: expected a JSON object'):
        parse_shard(_raw_shard(tmp_path, '[1]\n'))


def test_one_writer_per_shard(tmp_path):
    a = ShardWriter(str(tmp_path))
    a.resume()
    with pytest.raises(RuntimeError, match='another process is writing'):
        ShardWriter(str(tmp_path)).resume()
    ShardWriter(str(tmp_path), rank=1, world_size=2).resume()  # other shard
    a.close()
    ShardWriter(str(tmp_path)).resume()


def test_plan_mismatch(tmp_path):
    w = ShardWriter(str(tmp_path))
    w.check_plan(dict(fingerprint='abc', num_units=3))
    w.check_plan(dict(fingerprint='abc', num_units=3))
    with pytest.raises(PlanMismatchError, match='another generation plan'):
        w.check_plan(dict(fingerprint='xyz', num_units=4))
    with pytest.raises(ValueError, match='img_format'):
        ShardWriter(str(tmp_path), img_format='bmp')
