"""DiVE's data steps: the vocabulary (tokens, code words, captions) of a VI
training set + external identities, and the identity list the infrared
generation reads. Each step is a function of config dicts, resumable by
its outputs (written to temporary names, then renamed)."""
from __future__ import annotations

import copy
import os.path as osp
from typing import Dict, Optional

from reidkit.registry import DATASETS

from .vocabulary import _atomic_json, build_vocabulary, write_vocabulary

VOCAB_FILES = ('captions', 'tokens', 'codes', 'identities')


def _build(cfg):
    cfg = copy.deepcopy(cfg)
    cfg['pipeline'] = []
    cfg.setdefault('serialize_data', False)
    return DATASETS.build(cfg)


def vocabulary_files(out_dir: str) -> Dict[str, str]:
    """Paths the vocabulary step writes (plus ``gen_identities.json``)."""
    files = {k: osp.join(out_dir, f'{k}.json') for k in VOCAB_FILES}
    files['gen_identities'] = osp.join(out_dir, 'gen_identities.json')
    return files


def generation_identities(identities, out_file: Optional[str] = None):
    """Rows for ``IdentityListSource``: one per external identity, ``pid``
    its Market id (so the manifest lines carry it and
    :class:`DiVEExternalDataset` joins them with its RGB images), ``token``
    its identity token and ``label`` its label in V* (for the record)."""
    rows = [dict(pid=int(i['pid']), token=i['token'], label=int(i['label']))
            for i in identities if i['source'] == 'external']
    if out_file:
        _atomic_json(rows, out_file)
    return rows


def run_vocabulary(vi_dataset: dict, ext_dataset: Optional[dict],
                   out_dir: str, granularity: str = 'camera',
                   code_length: int = 4, lora: str = 'shared',
                   seed: int = 0, overwrite: bool = False, **kwargs
                   ) -> Dict[str, str]:
    """Write the fine-tuning vocabulary of ``vi_dataset`` (+ ``ext_dataset``).

    Args:
        vi_dataset (dict): the VI train set (``SYSUMM01`` / ``LLCM``,
            ``split='train'``).
        ext_dataset (dict, optional): :class:`DiVEExternalDataset` config
            (without ``synthetic_root``).
        out_dir (str): folder of the files.
        granularity, code_length, lora, seed, **kwargs: see
            :func:`build_vocabulary`.
        overwrite (bool): rebuild even if every file exists (skipped
            otherwise, so a rerun keeps the code words the LoRA learned).

    Returns:
        dict[str, str]: file kind -> path.
    """
    files = vocabulary_files(out_dir)
    if not overwrite and all(osp.isfile(p) for p in files.values()):
        return files
    vi = _build(vi_dataset)
    ext = _build(ext_dataset) if ext_dataset else []
    vocab = build_vocabulary(
        [vi[i] for i in range(len(vi))], [ext[i] for i in range(len(ext))],
        granularity=granularity, code_length=code_length, lora=lora,
        seed=seed, **kwargs)
    # external identities keep their Market id for the generation rows
    if ext:
        market = {int(ext[i]['pid']): int(ext[i]['orig_pid'])
                  for i in range(len(ext))}
        for row in vocab['identities']:
            if row['source'] == 'external':
                row['pid'] = market[row['label'] - vocab['num_vi_ids']]
    write_vocabulary(vocab, out_dir)
    generation_identities(vocab['identities'], files['gen_identities'])
    return files

