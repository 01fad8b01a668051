"""A tiny in-memory re-ID dataset (mmengine ``BaseDataset``) for tests."""
from typing import List, Sequence

import pytest
from mmengine.dataset import BaseDataset


class FakeReIDDataset(BaseDataset):
    """Sample dicts with the conventions' label keys; no image is read.

    ``__getitem__`` returns the sample dict (empty pipeline), so a DataLoader
    over it yields the labels of the sampled images.
    """

    def __init__(self, records: Sequence[dict], **kwargs):
        self._records = [dict(r) for r in records]
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        return [dict(r) for r in self._records]


def records(pids, camids=None, domains=None, modalities=None):
    """Sample dicts from label sequences (missing labels get defaults)."""
    n = len(pids)
    camids = [0] * n if camids is None else camids
    domains = [0] * n if domains is None else domains
    modalities = [0] * n if modalities is None else modalities
    return [
        dict(img_path=f'/fake/{i:06d}.jpg', pid=int(p), camid=int(c),
             clothes_id=-1, domain=int(d), modality=int(m), split='train')
        for i, (p, c, d, m) in enumerate(
            zip(pids, camids, domains, modalities))
    ]


@pytest.fixture
def make_dataset():
    """``make_dataset(pids, camids=, domains=, modalities=, **kwargs)``."""

    def make(pids, camids=None, domains=None, modalities=None, **kwargs):
        # mmengine's serialisation runs gc.collect() (slow once torch is
        # imported); the tests that read serialised data ask for it
        kwargs.setdefault('serialize_data', False)
        return FakeReIDDataset(
            records(pids, camids, domains, modalities), **kwargs)

    return make
