"""Suite-wide fixtures."""
import pytest


@pytest.fixture(autouse=True)
def _restore_default_scope():
    """Undo default-scope changes a test makes (a Runner built with
    ``default_scope='synthgen'`` stays the current scope afterwards, and
    later tests that build reidkit types by name would look them up in the
    synthgen registries)."""
    from mmengine.registry import DefaultScope
    before = list(DefaultScope._instance_dict)
    yield
    # read it again: ``DefaultScope.overwrite_default_scope`` replaces the
    # dict object on exit, so the one from before may no longer be it
    scopes = DefaultScope._instance_dict
    for name in list(scopes):
        if name not in before:
            scopes.pop(name)
