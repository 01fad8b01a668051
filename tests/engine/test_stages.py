"""Named stages: plan (skip / run / resume / re-run with dependents), records,
--stages, --dry-run, and a legacy config's generation stage."""
import json
import os
import os.path as osp
import sys

import pytest
from mmengine.config import Config

from reidkit.registry import STAGES
from reidkit.stages import Stage, StageConfigError, StageRunner, build_stages
from reidkit.stages.base import atomic_write_text
from reidkit.utils.config import load_config

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'synthgen'))
from synthgen_helpers import make_fake_prcc, write_config  # noqa: E402

CALLS = []
FAIL = set()


@STAGES.register_module(force=True)
class _WriteStage(Stage):
    """Test stage: concatenates its inputs' text and a word into out_file."""

    def __init__(self, out_file, word='x', read=(), **kwargs):
        super().__init__(**kwargs)
        self.out_file, self.word, self.read = out_file, word, list(read)

    def inputs(self):
        return list(self.read)

    def outputs(self):
        return [self.out_file]

    def run(self):
        CALLS.append((self.name, self.resume))
        if self.name in FAIL:
            raise KeyboardInterrupt('killed')
        text = ''.join(open(p).read() for p in self.read) + self.word
        atomic_write_text(self.out_file, text)
        return dict(length=len(text))


def _cfg(tmp_path, **words):
    a, b, c = (str(tmp_path / f'{n}.txt') for n in 'abc')
    return Config(dict(work_dir=str(tmp_path / 'work'), stages=[
        dict(name='a', type='_WriteStage', out_file=a,
             word=words.get('a', 'A')),
        dict(name='b', type='_WriteStage', out_file=b, read=[a],
             word=words.get('b', 'B')),
        # c reads nothing of a or b: independent of them
        dict(name='c', type='_WriteStage', out_file=c,
             word=words.get('c', 'C')),
    ]))


def _plan(cfg, only=None):
    runner = StageRunner(build_stages(cfg), cfg.work_dir, only=only)
    return runner, {p.stage.name: (p.action, p.reason, p.depends)
                    for p in runner.plan()}


def test_first_run_then_everything_is_skipped(tmp_path):
    CALLS.clear()
    cfg = _cfg(tmp_path)
    runner, plan = _plan(cfg)
    assert plan['a'][:1] == ('run',) and plan['b'][2] == ['a']
    assert plan['c'][2] == []
    results = runner.run()
    assert [c[0] for c in CALLS] == ['a', 'b', 'c']
    assert results['b'] == {'length': 2}
    assert open(tmp_path / 'b.txt').read() == 'AB'
    record = json.load(open(tmp_path / 'work' / 'stages' / 'b.json'))
    assert record['status'] == 'complete'
    _, plan = _plan(_cfg(tmp_path))
    assert {k: v[0] for k, v in plan.items()} == dict(a='skip', b='skip',
                                                      c='skip')


def test_changed_stage_reruns_with_its_dependents_only(tmp_path):
    CALLS.clear()
    runner, _ = _plan(_cfg(tmp_path))
    runner.run()
    CALLS.clear()
    runner, plan = _plan(_cfg(tmp_path, a='Z'))
    assert plan['a'][0] == 're-run' and 'word' in plan['a'][1]
    assert plan['b'] == ('re-run', 'upstream a runs', ['a'])
    assert plan['c'][0] == 'skip'
    runner.run()
    assert [c[0] for c in CALLS] == ['a', 'b']
    assert open(tmp_path / 'b.txt').read() == 'ZB'


def test_interrupted_stage_resumes(tmp_path):
    CALLS.clear()
    FAIL.add('b')
    runner, _ = _plan(_cfg(tmp_path))
    with pytest.raises(KeyboardInterrupt):
        runner.run()
    FAIL.clear()
    record = json.load(open(tmp_path / 'work' / 'stages' / 'b.json'))
    assert record['status'] == 'running'
    CALLS.clear()
    runner, plan = _plan(_cfg(tmp_path))
    assert plan['a'][0] == 'skip'
    assert plan['b'][:2] == ('resume', 'interrupted run')
    assert plan['c'][0] == 'run'  # never started
    runner.run()
    assert CALLS == [('b', True), ('c', False)]
    assert open(tmp_path / 'b.txt').read() == 'AB'


def test_only_runs_selected_stages(tmp_path):
    CALLS.clear()
    runner, plan = _plan(_cfg(tmp_path), only=['a', 'c'])
    assert plan['b'][0] == 'not selected'
    runner.run()
    assert [c[0] for c in CALLS] == ['a', 'c']
    with pytest.raises(StageConfigError, match="unknown stage.*'d'"):
        _plan(_cfg(tmp_path), only=['d'])


def test_bad_stage_entries_are_named(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.stages[0]['colour'] = 'red'
    with pytest.raises(StageConfigError, match=r"stage 'a' \(_WriteStage\).*colour"):
        build_stages(cfg)
    cfg = _cfg(tmp_path)
    cfg.stages[1]['name'] = 'a'
    with pytest.raises(StageConfigError, match="'a' is used twice"):
        build_stages(cfg)
    cfg = _cfg(tmp_path)
    cfg.stages[2]['depends_on'] = ['zz']
    with pytest.raises(StageConfigError, match="depends_on 'zz'"):
        build_stages(cfg)


def test_depends_on_adds_an_edge(tmp_path):
    cfg = _cfg(tmp_path)
    cfg.stages[2]['depends_on'] = ['a']
    _, plan = _plan(cfg)
    assert plan['c'][2] == ['a']


def test_stage_lists_from_references_are_spliced(tmp_path):
    """`stages = ['${first}', '${rest}']` joins two lists (from two bases)
    into one plan, in order, with dependencies across the join."""
    from reidkit.utils.config import resolve_references
    whole = _cfg(tmp_path)
    cfg = Config(dict(work_dir=whole.work_dir, first=[whole.stages[0]],
                      rest=whole.stages[1:], stages=['${first}', '${rest}']))
    resolve_references(cfg)
    _, plan = _plan(cfg)
    assert list(plan) == ['a', 'b', 'c'] and plan['b'][2] == ['a']


def test_legacy_generation_config_runs_once_then_skips(tmp_path):
    """A config with only `generation` keeps working, through a stage."""
    data = make_fake_prcc(str(tmp_path / 'prcc'), n_pids=3, per_cam=1)
    out = tmp_path / 'gen'
    cfg_path = write_config(tmp_path / 'cfg.py', data, str(out),
                            num_variants=2)
    cfg = load_config(cfg_path, work_dir=str(tmp_path / 'w'))
    stages = build_stages(cfg)
    assert [type(s).__name__ for s in stages] == ['GenerateStage']
    runner = StageRunner(stages, cfg.work_dir)
    assert runner.plan()[0].action == 'run'
    runner.run()
    images = sorted(out.rglob('*.png'))
    assert images
    cfg = load_config(cfg_path, work_dir=str(tmp_path / 'w'))
    runner = StageRunner(build_stages(cfg), cfg.work_dir)
    assert runner.plan()[0].action == 'skip'
    # another experiment (no record) finds the output complete too
    cfg = load_config(cfg_path, work_dir=str(tmp_path / 'other'))
    plan = StageRunner(build_stages(cfg), cfg.work_dir).plan()[0]
    assert (plan.action, plan.reason) == (
        'skip', 'output complete (made by an earlier run)')
    # a changed generation config: re-run, the old output moved aside
    cfg = load_config(cfg_path, {'generation.pipeline.seed': 5},
                      work_dir=str(tmp_path / 'w'))
    runner = StageRunner(build_stages(cfg), cfg.work_dir)
    plans = runner.plan()
    assert plans[0].action == 're-run' and 'seed' in plans[0].reason
    runner.run(plans)
    old = [d for d in os.listdir(tmp_path) if d.startswith('gen.old-')]
    assert len(old) == 1 and sorted((tmp_path / old[0]).rglob('*.png'))
    assert sorted(out.rglob('*.png'))


def test_dry_run_plans_with_missing_data(tmp_path):
    """A plan never fails on missing inputs: it says why the stage runs."""
    cfg_path = write_config(tmp_path / 'cfg.py', str(tmp_path / 'nodata'),
                            str(tmp_path / 'gen'), num_variants=2)
    cfg = load_config(cfg_path, work_dir=str(tmp_path / 'w'))
    plan = StageRunner(build_stages(cfg), cfg.work_dir).plan()[0]
    assert plan.action == 'run'
    assert plan.reason == f"not run yet (missing: {tmp_path / 'nodata'})"


def test_config_without_stages_or_sections_plans_nothing(tmp_path):
    path = tmp_path / 'plain.py'
    path.write_text("model = dict(type='X')\n")
    assert build_stages(load_config(str(path))) == []


def test_dry_run_of_the_dlcr_configs_prints_the_plan(tmp_path):
    """The paper config (no PRCC, no weights here) and the toy one: the plan
    is printed, nothing runs, exit 0."""
    import subprocess
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    for config in ('configs/dlcr/prcc_cal.py', 'configs/dlcr/toy_prcc_cal.py'):
        work = tmp_path / osp.basename(config)
        out = subprocess.run(
            [sys.executable, 'tools/train.py', config, '--dry-run',
             '--work-dir', str(work), '--cfg-options',
             f'dlcr_root={tmp_path}/dlcr', f'data_root={tmp_path}/none'],
            cwd=root, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-3000:]
        for name in ('generate', 'train', 'query_variants', 'test'):
            assert name in out.stdout
        assert 'missing' in out.stdout  # says why a run would fail
        assert not work.exists() or not os.listdir(work)
