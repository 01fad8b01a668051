import pytest
import torch
from mmengine.registry import init_default_scope

import reidkit.hooks  # noqa: F401
import reidkit.models  # noqa: F401


@pytest.fixture(autouse=True)
def _scope_and_seed():
    init_default_scope('reidkit')
    torch.manual_seed(0)
    yield
