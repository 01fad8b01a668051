"""AOST tests run their tiny models on one thread: on this shared 2-core
machine two intra-op threads made a 32x16 generator step 40x slower (4 s vs
0.1 s, load ~11) through contention."""
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
