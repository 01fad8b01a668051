"""VehicleX synthetic vehicles as released for AI City 2020."""
from __future__ import annotations

import os.path as osp
from typing import List

from reidkit.registry import DATASETS

from .base import ReIDDataset, scan_images
from .cityflow import read_label_xml

#: orientation classes: the yaw in degrees divided by this, floored
ORIENTATION_BIN = 10


@DATASETS.register_module()
class VehicleX(ReIDDataset):
    """VehicleX / AI City 2020 simulation data (``AIC20_ReID_Simulation``).

    ``image_train/`` and ``train_label.xml``: ``<Item imageName=...
    vehicleID=... cameraID="c001" colorID=... typeID=... orientation=...>``
    (gb2312 header; the release also has lighting and camera-pose
    attributes, ignored). A training source only (no query / gallery).
    Each sample carries ``orientation`` (the yaw in degrees, float) and
    ``orientation_class`` (``int(angle // 10) % 36``: the strong vehicle
    baseline's orientation classes, angle / 10), and ``color_id`` /
    ``type_id`` (-1 when absent). ``domain`` is 1 (synthetic), so MixStyle's
    cross-domain mode and domain-balanced samplers can tell it from the
    real set it is concatenated with.

    Args:
        data_root (str): the simulation root.
        split (str): 'train' only.
        **kwargs: See :class:`ReIDDataset`.

    Example:
        >>> ds = VehicleX('data/AIC20_ReID_Simulation')
        >>> ds[0]['orientation_class']   # 0..35
    """

    PROTOCOL = 'cityflow'
    DOMAIN = 1
    EXTRA_KEYS = ('orientation', 'orientation_class', 'color_id', 'type_id')
    LAYOUT = """\
    image_train/000001.jpg ...
    train_label.xml  (<Item imageName="000001.jpg" vehicleID="0001"
                      cameraID="c001" colorID="1" typeID="1"
                      orientation="270.0"/>)
    """

    def parse_split(self, split: str) -> List[dict]:
        if split != 'train':
            raise ValueError(f"VehicleX: split must be 'train' (a synthetic "
                             f'training source), got {split!r}')
        xml_path = self.require_file('train_label.xml')
        img_dir = self.require_dir('image_train')
        present = set(scan_images(img_dir))
        records = []
        for a in read_label_xml(xml_path, self.layout_error):
            try:
                name = a['imageName']
                angle = float(a['orientation'])
                rec = dict(img_path=osp.join(img_dir, name),
                           pid=int(a['vehicleID']),
                           camid=int(a['cameraID'].lstrip('cC')),
                           orientation=angle,
                           orientation_class=int(angle // ORIENTATION_BIN)
                           % (360 // ORIENTATION_BIN),
                           color_id=int(a.get('colorID', -1)),
                           type_id=int(a.get('typeID', -1)))
            except (KeyError, ValueError) as exc:
                raise self.layout_error(
                    f'bad <Item {a}> in {xml_path!r}: expected imageName, '
                    'vehicleID, cameraID="cNNN" and orientation (degrees)'
                ) from exc
            if name not in present:
                raise self.layout_error(
                    f'{xml_path!r} names a missing image '
                    f'{osp.join(img_dir, name)!r}')
            records.append(rec)
        return records
