"""Read the per-image labels a sampler needs, without loading any image.

Samplers only need ``pid``, ``camid``, ``modality`` and ``domain`` of every
sample (see ``docs/conventions.md``). :func:`read_labels` reads them once into
numpy arrays, looking through dataset wrappers (mmengine/torch
``ConcatDataset``, mmengine ``RepeatDataset`` and ``ClassBalancedDataset``,
torch ``Subset``) down to the datasets that hold the sample dicts.

For an mmengine ``BaseDataset`` the dicts are read straight from its
(serialised or plain) data list, which is several times faster than
``get_data_info`` (that one deep-copies every dict). Any other dataset needs a
``get_data_info(idx)`` method.
"""
from __future__ import annotations

import pickle
from typing import Dict, List, Sequence

import numpy as np
from mmengine.dataset import BaseDataset, ClassBalancedDataset, RepeatDataset
from torch.utils.data import ConcatDataset, Subset

#: label -> value used when a sample dict has no such key (``None``: required)
LABEL_DEFAULTS = {'pid': None, 'camid': 0, 'modality': 0, 'domain': 0,
                  'clothes_id': -1}


def read_labels(dataset, keys: Sequence[str] = ('pid', )
                ) -> Dict[str, np.ndarray]:
    """Labels of every sample of ``dataset`` as int64 arrays.

    Args:
        dataset: An mmengine ``BaseDataset``, a wrapper of such datasets, or
            any dataset with ``__len__`` and ``get_data_info(idx)``.
        keys (Sequence[str]): Label keys to read, from ``pid``, ``camid``,
            ``modality``, ``domain``, ``clothes_id``. A missing ``pid`` is an
            error; the others default to ``camid=0``, ``modality=0``
            (visible), ``domain=0`` (real), ``clothes_id=-1``.

    Returns:
        dict: ``key -> np.ndarray`` of shape ``(len(dataset),)``.

    Example:
        >>> labels = read_labels(dataset, keys=('pid', 'domain'))
        >>> labels['pid'].shape == (len(dataset),)
        True
    """
    unknown = [k for k in keys if k not in LABEL_DEFAULTS]
    if unknown:
        raise KeyError(f'read_labels: unknown label key(s) {unknown}; '
                       f'expected some of {sorted(LABEL_DEFAULTS)}')
    columns = _read(dataset, tuple(keys))
    return {k: np.asarray(columns[i], dtype=np.int64).reshape(-1)
            for i, k in enumerate(keys)}


def _read(dataset, keys: tuple) -> List[np.ndarray]:
    """One int64 array per key for ``dataset`` (recursing into wrappers)."""
    if isinstance(dataset, ConcatDataset):  # mmengine's subclasses torch's
        if hasattr(dataset, 'full_init'):
            dataset.full_init()
        parts = [_read(d, keys) for d in dataset.datasets]
        return [np.concatenate([p[i] for p in parts]) if parts else
                np.zeros(0, np.int64) for i in range(len(keys))]
    if isinstance(dataset, RepeatDataset):
        dataset.full_init()
        return [np.tile(col, dataset.times)
                for col in _read(dataset.dataset, keys)]
    if isinstance(dataset, ClassBalancedDataset):
        dataset.full_init()
        idx = np.asarray(dataset.repeat_indices, dtype=np.int64)
        return [col[idx] for col in _read(dataset.dataset, keys)]
    if isinstance(dataset, Subset):
        idx = np.asarray(dataset.indices, dtype=np.int64)
        return [col[idx] for col in _read(dataset.dataset, keys)]
    return _from_infos(iter_data_infos(dataset), keys, dataset)


def iter_data_infos(dataset):
    """Yield the sample dicts of a leaf dataset in index order.

    Reads an mmengine ``BaseDataset``'s data list without building any
    sample (serialized data lists are unpickled one by one), or calls
    ``get_data_info(i)`` for every index of another dataset. Wrappers
    (``ConcatDataset``, ``Subset``, ...) are the caller's business.

    Args:
        dataset: A ``BaseDataset`` or any dataset with ``get_data_info``
            and ``__len__``.

    Raises:
        TypeError: ``dataset`` has no ``get_data_info``.

    Example:
        >>> pids = [info['pid'] for info in iter_data_infos(train_set)]
    """
    if isinstance(dataset, BaseDataset):
        dataset.full_init()
        if getattr(dataset, 'serialize_data', False):
            buf = memoryview(dataset.data_bytes)
            ends = np.asarray(dataset.data_address).tolist()
            start = 0
            for end in ends:
                yield pickle.loads(buf[start:end])
                start = end
        else:
            yield from dataset.data_list
        return
    if not hasattr(dataset, 'get_data_info'):
        raise TypeError(
            f'{type(dataset).__name__} has no get_data_info(idx): reidkit '
            'samplers read pid/camid/modality/domain from the sample dicts '
            'of an mmengine BaseDataset (or of a dataset with '
            'get_data_info)')
    for i in range(len(dataset)):
        yield dataset.get_data_info(i)


def _from_infos(infos, keys: tuple, dataset) -> List[np.ndarray]:
    defaults = [LABEL_DEFAULTS[k] for k in keys]
    columns: List[list] = [[] for _ in keys]
    for idx, info in enumerate(infos):
        for col, key, default in zip(columns, keys, defaults):
            value = info.get(key, default)
            if value is None:
                raise KeyError(
                    f'{type(dataset).__name__}: sample {idx} has no {key!r} '
                    f'(keys: {sorted(info)}); samplers need it, see '
                    'docs/conventions.md')
            col.append(value)
    return [np.asarray(col, dtype=np.int64) for col in columns]
