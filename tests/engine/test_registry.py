"""Registries: child lookup, helpful errors, plugin discovery through entry points."""
import sys
import textwrap

import pytest
import torch

from reidkit.registry import HEADS, LOSSES, MODELS, RERANKERS
from synthgen.utils import plugins
from synthgen.utils.registry import Registry, UnknownTypeError


def test_models_finds_names_registered_in_child_registries():
    @LOSSES.register_module(force=True)
    class _ProbeLoss(torch.nn.Module):
        pass

    @HEADS.register_module(force=True)
    class _ProbeHead(torch.nn.Module):
        pass

    assert MODELS.get('_ProbeLoss') is _ProbeLoss
    assert isinstance(MODELS.build(dict(type='_ProbeHead')), _ProbeHead)
    assert '_ProbeLoss' in MODELS and 'NoSuchThing' not in MODELS


def test_unknown_type_names_registry_and_closest_names():
    reg = Registry('widget', scope='probe_scope')

    @reg.register_module()
    class TripletLoss:
        pass

    with pytest.raises(UnknownTypeError) as err:
        reg.build(dict(type='TripletLos'))
    msg = str(err.value)
    assert 'probe_scope::widget' in msg
    assert 'TripletLoss' in msg
    assert 'custom_imports' in msg


def test_unknown_type_through_mmengine_root_is_explained():
    from mmengine.registry import DefaultScope
    from mmengine.registry import MODELS as ROOT
    with DefaultScope.overwrite_default_scope('reidkit'):
        with pytest.raises(KeyError) as err:
            ROOT.build(dict(type='ReIDModle'))
    assert 'reidkit::model' in str(err.value)


def test_entry_point_plugin_is_imported_on_a_miss(tmp_path, monkeypatch):
    # a fake installed distribution declaring a reidkit.plugins entry point
    pkg = tmp_path / 'ep_plugin_pkg'
    pkg.mkdir()
    (pkg / '__init__.py').write_text(textwrap.dedent('''
        from reidkit.registry import RERANKERS

        @RERANKERS.register_module()
        class EntryPointReranker:
            def __call__(self, q, g, dist=None, **meta):
                return dist
    '''))
    dist_info = tmp_path / 'ep_plugin_pkg-0.1.dist-info'
    dist_info.mkdir()
    (dist_info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: ep-plugin-pkg\nVersion: 0.1\n')
    (dist_info / 'entry_points.txt').write_text(
        '[reidkit.plugins]\nep_plugin = ep_plugin_pkg\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, '_imported', False)
    sys.modules.pop('ep_plugin_pkg', None)
    obj = RERANKERS.build(dict(type='EntryPointReranker'))
    assert type(obj).__name__ == 'EntryPointReranker'
    assert 'ep_plugin_pkg' in sys.modules
