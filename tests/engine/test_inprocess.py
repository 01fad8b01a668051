"""run_config_stages: a config's stages in this process, timed, skipped when
complete; mean_std / sample_std (the ablation tables' bookkeeping)."""
import json

from reidkit.registry import STAGES
from reidkit.stages import Stage
from reidkit.stages import TestStage as _TestStage
from reidkit.stages.base import atomic_write_text
from reidkit.stages.inprocess import mean_std, run_config_stages, sample_std

CALLS = []


@STAGES.register_module(force=True)
class _InprocessWordStage(Stage):
    """Writes ``word`` (and a copy of ``read``) to ``out_file``."""

    def __init__(self, out_file, word='x', read=None, **kwargs):
        super().__init__(**kwargs)
        self.out_file, self.word, self.read = out_file, word, read

    def inputs(self):
        return [self.read] if self.read else []

    def outputs(self):
        return [self.out_file]

    def run(self):
        CALLS.append(self.name)
        text = (open(self.read).read() if self.read else '') + self.word
        atomic_write_text(self.out_file, text)
        return dict(length=len(text))


@STAGES.register_module(force=True)
class _InprocessMetricStage(_TestStage):
    """A test stage whose metrics are the length of a file."""

    def __init__(self, read, **kwargs):
        super().__init__(**kwargs)
        self.read = read

    def inputs(self):
        return [self.read]

    def outputs(self):
        return [self.metrics_file()]

    def run(self):
        CALLS.append(self.name)
        m = {'R1': float(len(open(self.read).read()))}
        atomic_write_text(self.metrics_file(), json.dumps(m))
        return m


def test_runs_stages_times_them_and_skips_complete_ones(tmp_path):
    shared = tmp_path / 'shared'
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        "word = 'ab'\n"
        "shared = 'unset'\n"
        "stages = [\n"
        "  dict(name='make', type='_InprocessWordStage',\n"
        "       out_file='${shared}/a.txt', word='${word}'),\n"
        "  dict(name='test', type='_InprocessMetricStage',\n"
        "       read='${shared}/a.txt', checkpoint='${shared}/a.txt'),\n"
        "]\n")
    CALLS.clear()
    m, times = run_config_stages(str(cfg), {'shared': str(shared), 'word': 'abc'},
                                 str(tmp_path / 'w1'))
    assert m == {'R1': 3.0} and CALLS == ['make', 'test']
    assert set(times) == {'make', 'test'}
    assert all(t['wall'] >= 0 and t['cpu'] >= 0 for t in times.values())
    # another work dir: the shared product is complete (skipped), the test
    # stage of the new run runs
    CALLS.clear()
    m, times = run_config_stages(str(cfg), {'shared': str(shared)},
                                 str(tmp_path / 'w2'))
    assert CALLS == ['test'] and m == {'R1': 3.0} and set(times) == {'test'}
    # the same work dir again: nothing runs, the metrics are read back
    CALLS.clear()
    m, times = run_config_stages(str(cfg), {'shared': str(shared)},
                                 str(tmp_path / 'w2'))
    assert CALLS == [] and times == {} and m == {'R1': 3.0}
    # a stage subset without the test stage: it runs, no metrics are read
    CALLS.clear()
    m, times = run_config_stages(str(cfg), {'shared': str(tmp_path / 's3')},
                                 str(tmp_path / 'w3'), stages=['make'])
    assert CALLS == ['make'] and m == {} and set(times) == {'make'}


def test_mean_and_sample_std():
    # (1, 2, 6): mean 3, sample variance ((4 + 1 + 9) / 2) = 7 -> 2.646
    assert mean_std([1, 2, 6]) == '3.0 +- 2.6'
    assert mean_std([1, 2, 6], 2) == '3.00 +- 2.65'
    assert abs(sample_std([10, 12]) - 2 ** 0.5) < 1e-12  # ddof=1, not 1.0
    assert sample_std([5.0]) == 0.0


def test_parallel_map_runs_every_item_in_single_thread_workers():
    import os

    from reidkit.stages.inprocess import parallel_map
    # here, in order
    assert list(parallel_map(abs, [-3, 2, -1], jobs=1)) == [
        (0, 3), (1, 2), (2, 1)]
    # 2 spawned workers: every item once, by index, OMP_NUM_THREADS=1 there
    got = dict(parallel_map(abs, [-3, 2, -1, -7], jobs=2))
    assert got == {0: 3, 1: 2, 2: 1, 3: 7}
    assert dict(parallel_map(os.getenv, ['OMP_NUM_THREADS'], jobs=2)) == {
        0: '1'}
    before = os.environ.get('OMP_NUM_THREADS')
    list(parallel_map(abs, [1], jobs=2))
    assert os.environ.get('OMP_NUM_THREADS') == before


def test_parallel_map_starts_an_item_only_after_the_one_it_waits_for():
    import time

    import pytest

    from reidkit.stages.inprocess import parallel_map
    # item 1 waits for item 0 (1 s): it is submitted only once item 0 has
    # finished, so it cannot finish before it (whatever the machine's load)
    order = [i for i, _ in parallel_map(time.sleep, [1.0, 0.0, 0.0], jobs=2,
                                        after=[None, 0, None])]
    assert sorted(order) == [0, 1, 2]
    assert order.index(1) > order.index(0)
    assert [i for i, _ in parallel_map(abs, [1, 2], after=[None, 0])] == [0, 1]
    with pytest.raises(ValueError, match='earlier item'):
        list(parallel_map(abs, [1, 2], after=[1, None]))
