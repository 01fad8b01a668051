"""docs/plugins.md's examples, as a package outside the repo, really work.

Every ```python block of the doc whose first line is ``# my_ext/<file>`` is
written into tmp_path/my_ext/ (outside the repository) and imported from
there. Each component is exercised on its own, then ``tools/train.py`` runs
an experiment whose stages use the package's generator, stage, protocol,
re-ranker, loss and sampler, and a second run skips every stage.
"""
import importlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(ROOT, 'docs', 'plugins.md')


def write_package(dest):
    text = open(DOC, encoding='utf-8').read()
    files = {}
    for block in re.findall(r'```python\n(.*?)```', text, flags=re.S):
        first = block.splitlines()[0]
        if first.startswith('# my_ext/'):
            files[first[2:].strip()] = block
    for rel, code in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(code)
    return sorted(files)


@pytest.fixture(scope='module')
def my_ext(tmp_path_factory):
    dest = tmp_path_factory.mktemp('outside')
    assert not str(dest).startswith(ROOT)
    files = write_package(dest)
    assert files == ['my_ext/__init__.py', 'my_ext/data.py',
                     'my_ext/generators.py', 'my_ext/reid.py',
                     'my_ext/stages.py']
    sys.path.insert(0, str(dest))
    try:
        yield dest, importlib.import_module('my_ext')
    finally:
        sys.path.remove(str(dest))


def test_components_work(my_ext, tmp_path):
    from reidkit.registry import (LOSSES, PROTOCOLS, RERANKERS, SAMPLERS,
                                  STAGES)
    from synthgen.registry import FILTERS, GENERATORS, PROMPT_BUILDERS
    from synthgen.sources import SOURCES
    gen = GENERATORS.build(dict(type='StripeGenerator', size=(8, 4)))
    a, b, c = gen([dict(seed=1), dict(seed=2), dict(seed=1)])
    assert a['image'].shape == (8, 4, 3)
    assert not np.array_equal(a['image'], b['image'])  # varies with the seed
    assert np.array_equal(a['image'], c['image'])      # and only with it
    flt = FILTERS.build(dict(type='MinMeanFilter', min_mean=100))
    dark = np.zeros((4, 4, 3), np.uint8)
    assert flt(dict(image=dark)).keep is False
    assert flt(dict(image=dark + 200)).keep is True
    pb = PROMPT_BUILDERS.build(dict(type='ColourPrompt'))
    assert pb([dict(attributes=dict(colour='red')), dict(attributes={})]) == \
        ['a photo of a red vehicle', 'a photo of a grey vehicle']
    for name in ('3_a.jpg', '1_b.jpg'):
        (tmp_path / name).write_bytes(b'')
    src = SOURCES.build(dict(type='FlatFolderSource', data_root=str(tmp_path)))
    assert [(r['key'], r['pid']) for r in src.load()] == [('1_b.jpg', 1),
                                                          ('3_a.jpg', 3)]
    loss = LOSSES.build(dict(type='MeanNormLoss', target=1.0))
    feats = torch.tensor([[3.0, 4.0], [0.0, 1.0]])
    assert float(loss.compute(feats, None)) == pytest.approx((16 + 0) / 2)
    rr = RERANKERS.build(dict(type='ShiftReranker', shift=0.5))
    assert rr(None, None, dist=np.zeros((1, 2))).tolist() == [[0.5, 0.5]]
    assert 'CountStage' in STAGES and 'other_camera' in PROTOCOLS
    assert 'ReversedIdentitySampler' in SAMPLERS


CONFIG = '''
_base_ = ['{root}/configs/quickstart/toy_market_bot_r18.py']
custom_imports = dict(imports=['my_ext'], allow_failed_imports=False)
data_root = '{data}'
img_size = (32, 16)
gen_dir = '${{work_dir}}/stripes'
stages = [
    dict(name='generate', type='GenerateStage', pipeline=dict(
        source=dict(type='ImageFolderSource', pattern='bounding_box_train/*.jpg',
                    regex=r'bounding_box_train/(?P<pid>\\d+)_c(?P<camid>\\d)s.*'),
        generator=dict(type='StripeGenerator'),
        filters=[dict(type='MinMeanFilter', min_mean=0)],
        writer=dict(out_dir='${{gen_dir}}', img_format='png', fsync=False),
        num_variants=2, seed=3)),
    dict(name='count', type='CountStage', manifest_dir='${{gen_dir}}',
         out_file='${{work_dir}}/count.json'),
    dict(name='train', type='TrainStage'),
    dict(name='test', type='TestStage'),
]
model = dict(head=dict(losses=[dict(type='CrossEntropyLoss'),
                               dict(type='MeanNormLoss', loss_weight=0.1)]))
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(_delete_=True, type='ReversedIdentitySampler', batch_size=8,
                 num_instances=2))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = dict(num_workers=0, persistent_workers=False)
test_evaluator = dict(_delete_=True, type='ReIDMetric', protocol='other_camera',
                      rerankers=[dict(type='ShiftReranker', shift=0.5)])
train_cfg = dict(max_epochs=1, val_interval=10)
default_hooks = dict(logger=dict(interval=1))
'''


def run(args, pkg_dir):
    env = dict(os.environ, PYTHONPATH=str(pkg_dir), OMP_NUM_THREADS='1',
               PYTHONUNBUFFERED='1')
    return subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'train.py')]
                          + args, cwd=str(pkg_dir), env=env,
                          capture_output=True, text=True, timeout=900)


def test_tools_train_runs_the_package_stages(my_ext, tmp_path):
    pkg_dir, _ = my_ext
    data = tmp_path / 'market'
    subprocess.run([sys.executable, osp.join(ROOT, 'tools', 'make_toy_data.py'),
                    'market1501', str(data), '--ids', '8', '--seed', '0',
                    '--size', '32x16', '--workers', '1'], check=True,
                   capture_output=True, timeout=300)
    cfg = tmp_path / 'exp.py'
    cfg.write_text(textwrap.dedent(CONFIG.format(root=ROOT, data=data)))
    work = tmp_path / 'work'

    dry = run([str(cfg), '--work-dir', str(work), '--dry-run'], pkg_dir)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert 'CountStage' in dry.stdout and not (work / 'count.json').exists()

    out = run([str(cfg), '--work-dir', str(work)], pkg_dir)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    n_train = len(list((data / 'bounding_box_train').glob('*.jpg')))
    counts = json.loads((work / 'count.json').read_text())
    assert counts == dict(images=2 * n_train, generators=['StripeGenerator'])
    record = json.loads((work / 'stages' / 'count.json').read_text())
    assert record['status'] == 'complete' and record['result'] == counts
    metrics = json.loads((work / 'metrics_test.json').read_text())
    assert set(metrics) >= {'mAP', 'R1'} and 0 <= metrics['mAP'] <= 100
    assert 'loss_norm' in (out.stdout + out.stderr)

    again = run([str(cfg), '--work-dir', str(work)], pkg_dir)
    assert again.returncode == 0, again.stderr[-3000:]
    assert 'stage 1/4' not in again.stdout and 'stage 3/4' not in again.stdout
