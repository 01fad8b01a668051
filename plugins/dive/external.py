"""DiVE's external identities: RGB images of a visible re-ID set (Market-1501
``gt_bbox/``) and the infrared images generated for them, as one dataset
whose identities follow the VI set's in a ``ReIDConcatDataset``.

Selection (the authors' ``Preprocess/market2sysu_revised.py``): every
Market-1501 identity with at least ``min_images`` (12) images in
``gt_bbox/`` (1,011 identities), in ascending id order, each as one extra
visible camera (their ``cam7`` on SYSU-MM01, ids ``533 + i``). Here the
identities are labelled by ``ReIDDataset`` (sorted Market id -> 0..M-1) and
``ReIDConcatDataset`` puts them after the VI set's N identities, so
``V* = V + V_ext`` and ``I* = I + I_ext`` share one space: the external
identity ``e`` has label ``N + e`` in its RGB and its generated IR images
alike.
"""
from __future__ import annotations

from collections import Counter
from typing import List, Optional, Sequence

from reidkit.datasets import SyntheticDataset
from reidkit.datasets.base import ReIDDataset
from reidkit.datasets.market1501 import MARKET_NAME
from reidkit.registry import DATASETS

MARKET_NAME_HELP = ('<pid>_c<cam>s<seq>_<frame>_<box>.jpg, e.g. '
                    '0002_c1s1_000451_03.jpg')


@DATASETS.register_module()
class DiVEExternalDataset(ReIDDataset):
    """External RGB identities (+ their generated infrared images).

    Reads ``data_root/<folder>`` in Market-1501 naming (``gt_bbox`` is
    Market's hand-drawn boxes: 25,259 images of 1,501 identities, the
    authors' source), keeps the identities with at least ``min_images``
    images (the first ``max_ids`` of them by id, when set), and gives every
    image ``camid=camid`` (one extra visible camera; the Market camera stays
    in ``source_camid``) and ``modality=0``. With ``synthetic_root`` (a
    folder of synthgen manifests whose lines carry the *Market* id as
    ``pid``, as :func:`plugins.dive.pipeline.generation_identities` writes
    them) the generated images join with ``modality`` and ``camid`` from
    their manifest; a generated identity that is not selected is an error.
    Train split only.

    Args:
        data_root (str): Market-1501 root.
        folder (str | list[str]): image folder(s) under ``data_root``.
            Defaults to ``'gt_bbox'``; the toy world's Market has none, its
            configs use ``'bounding_box_train'``.
        min_images (int): images an identity needs. Defaults to 12.
        max_ids (int, optional): keep only the first ``max_ids`` selected
            identities (the paper's Fig. 5 sweep).
        camid (int): camera id of the external RGB images. Defaults to 7
            (the authors' ``cam7`` of SYSU-MM01).
        synthetic_root (str, optional): manifests of the generated images.
        include_rgb (bool): keep the RGB images (False: the generated ones
            only, Table 3's "IR only"). Defaults to True.
        **kwargs: see :class:`ReIDDataset`.

    Example:
        >>> ds = DiVEExternalDataset('data/market1501', min_images=12)
        >>> ds.metainfo['num_pids']  # 1011 on Market-1501
    """

    LAYOUT = """\
    gt_bbox/0001_c1s1_001051_00.jpg   (Market-1501 naming; or the folder
                                        set by `folder`)
    """
    EXTRA_KEYS = ('source_camid',)

    def __init__(self, data_root: str, folder='gt_bbox',
                 min_images: int = 12, max_ids: Optional[int] = None,
                 camid: int = 7, synthetic_root: Optional[str] = None,
                 include_rgb: bool = True, **kwargs) -> None:
        if not include_rgb and not synthetic_root:
            raise ValueError('DiVEExternalDataset: include_rgb=False needs '
                             'synthetic_root (the generated images)')
        self.include_rgb = bool(include_rgb)
        self.folders = [folder] if isinstance(folder, str) else list(folder)
        self.min_images = int(min_images)
        self.max_ids = None if max_ids is None else int(max_ids)
        self.ext_camid = int(camid)
        self.synthetic_root = synthetic_root
        self._eligible: set = set()  # set by rgb_records
        super().__init__(data_root, split='train', **kwargs)

    def eligible_pids(self, records: Sequence[dict]) -> List[int]:
        """Market ids with at least ``min_images`` images, ascending."""
        counts = Counter(r['pid'] for r in records if r['pid'] > 0)
        return sorted(p for p, n in counts.items() if n >= self.min_images)

    def selected_pids(self, records: Sequence[dict]) -> List[int]:
        """The eligible ids, capped at the first ``max_ids``."""
        keep = self.eligible_pids(records)
        return keep if self.max_ids is None else keep[:self.max_ids]

    def rgb_records(self) -> List[dict]:
        records = []
        for name in self.folders:
            folder = self.require_dir(name)
            records += self.parse_named_images(
                folder, MARKET_NAME, MARKET_NAME_HELP,
                lambda m: dict(pid=int(m.group(1)),
                               source_camid=int(m.group(2))))
        keep = set(self.selected_pids(records))
        if not keep:
            raise self.layout_error(
                f'no identity has {self.min_images} or more images in '
                f'{self.folders}')
        self._eligible = set(self.eligible_pids(records))
        return [dict(r, camid=self.ext_camid, modality=0) for r in records
                if r['pid'] in keep]

    def generated_records(self, keep: set) -> List[dict]:
        """The generated images of the ``keep`` ids; those of eligible ids
        left out by ``max_ids`` are skipped (the mAP-vs-number-of-ids sweep
        reads the images generated for all ids); any other id is an
        error."""
        if not self.synthetic_root:
            return []
        syn = SyntheticDataset(self.synthetic_root, pid_mode='keep',
                               lazy_init=True)
        out = []
        for r in syn.parse_split('train'):
            if r['pid'] not in keep and r['pid'] in self._eligible:
                continue
            if r['pid'] not in keep:
                p = r['provenance']
                raise self.layout_error(
                    f"{p['manifest']}:{p['line']}: generated image of Market "
                    f"id {r['pid']}, which is not a selected external "
                    f'identity (min_images={self.min_images}, '
                    f'max_ids={self.max_ids})')
            out.append(dict(img_path=r['img_path'], pid=r['pid'],
                            camid=r['camid'], modality=r['modality'],
                            domain=1, source_camid=-1))
        return out

    def parse_split(self, split: str) -> List[dict]:
        if split != 'train':
            raise self.layout_error('DiVEExternalDataset has a train split '
                                    f'only, not {split!r}')
        rgb = self.rgb_records()
        generated = self.generated_records({r['pid'] for r in rgb})
        return (rgb if self.include_rgb else []) + generated

