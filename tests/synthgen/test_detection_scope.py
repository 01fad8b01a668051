"""Building the mmdet detector leaves the caller's default scope alone (a
generate stage with the mmdet backend runs before reidkit's train stage)."""
import importlib.util

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec('mmdet') is None,
                                reason='mmdet is not installed (make detection)')


def test_mmdet_detector_keeps_the_default_scope(tmp_path):
    from mmengine.registry import DefaultScope, init_default_scope

    from synthgen.filters.detection import MMDetDetector
    from synthgen.testing import tiny_rtmdet_checkpoint
    init_default_scope('reidkit')
    ckpt = str(tmp_path / 'rtmdet.pth')
    config = tiny_rtmdet_checkpoint(ckpt, {2: 6.0}, box_bias=10.0)
    assert DefaultScope.get_current_instance().scope_name == 'reidkit'
    MMDetDetector(config, ckpt, device='cpu')
    assert DefaultScope.get_current_instance().scope_name == 'reidkit'
