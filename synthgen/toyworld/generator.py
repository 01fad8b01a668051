"""``ToyWorldRenderer``: the toy world as a synthgen GENERATOR."""
from __future__ import annotations

import numpy as np
from PIL import Image

from synthgen.registry import GENERATORS

from . import person, vehicle, world
from .output import image_attributes
from .vocab import (BAGS, BUILDS, COLOR_NAMES, FACE_MARKS, HAIR_COLOR_NAMES,
                    HAIR_STYLES, ILLUMINATIONS, LOWER_TYPES, MATERIALS,
                    MODALITIES, PERSON_SCENES, PERSON_VIEWPOINTS,
                    SKIN_TONE_NAMES, SLEEVES, UPPER_PATTERNS, VEHICLE_BRANDS,
                    VEHICLE_COLOR_NAMES, VEHICLE_ERAS, VEHICLE_MARKS,
                    VEHICLE_SCENES, VEHICLE_TYPES, VEHICLE_VIEWPOINTS,
                    WEATHERS, lookup)

# readable attribute -> (table, field, vocabulary)
PERSON_ATTRS = {
    'build': ('id', 'build', BUILDS), 'skin_tone': ('id', 'skin', SKIN_TONE_NAMES),
    'hair_style': ('id', 'hair_style', HAIR_STYLES),
    'hair_color': ('id', 'hair_color', HAIR_COLOR_NAMES),
    'face_mark': ('id', 'face_mark', FACE_MARKS), 'bag': ('id', 'bag', BAGS),
    'bag_color': ('id', 'bag_color', COLOR_NAMES),
    'upper_color': ('outfit', 'upper_color', COLOR_NAMES),
    'upper_color2': ('outfit', 'upper_color2', COLOR_NAMES),
    'upper_pattern': ('outfit', 'upper_pattern', UPPER_PATTERNS),
    'sleeve': ('outfit', 'sleeve', SLEEVES),
    'lower_type': ('outfit', 'lower_type', LOWER_TYPES),
    'lower_color': ('outfit', 'lower_color', COLOR_NAMES),
    'shoes_color': ('outfit', 'shoes_color', COLOR_NAMES),
    'upper_material': ('outfit', 'upper_material', MATERIALS),
    'lower_material': ('outfit', 'lower_material', MATERIALS),
    'weather': ('cam', 'weather', WEATHERS),
    'illumination': ('cam', 'illum', ILLUMINATIONS),
    'background': ('cam', 'scene', PERSON_SCENES),
    'modality': ('cam', 'modality', MODALITIES),
}
_VEHICLE_ATTRS = {
    'vehicle_type': ('id', 'vtype', VEHICLE_TYPES),
    'brand': ('id', 'brand', VEHICLE_BRANDS), 'era': ('id', 'era', VEHICLE_ERAS),
    'color': ('id', 'color', VEHICLE_COLOR_NAMES),
    'viewpoint': ('jit', 'view', VEHICLE_VIEWPOINTS),
    'facing': ('jit', 'facing', ['left', 'right']),
    'weather': ('cam', 'weather', WEATHERS),
    'illumination': ('cam', 'illum', ILLUMINATIONS),
    'background': ('cam', 'scene', VEHICLE_SCENES),
}
_SPECIAL = {'person': ('hat', 'viewpoint', 'angle', 'pid', 'clothes_id', 'camid'),
            'vehicle': ('marks', 'pid', 'camid', 'scale', 'cx', 'cy')}


def _stack(rows):
    return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}


@GENERATORS.register_module()
class ToyWorldRenderer:
    """Render toy persons or vehicles from (partial) attribute requests.

    Called as ``gen(requests) -> list of dict(image, mask, meta)``. Each
    request is a dict with ``seed`` (int) and ``attributes`` (dict of
    readable values; anything left out is sampled from the seed):

    - persons: ``pid`` and ``clothes_id`` (same pid -> same body; same
      (pid, clothes_id) -> same outfit), ``camid`` (same camera look),
      ``build``, ``skin_tone``, ``hair_style``, ``hair_color``,
      ``face_mark``, ``bag``, ``bag_color``, ``upper_color``,
      ``upper_color2``, ``upper_pattern``, ``sleeve``, ``lower_type``,
      ``lower_color``, ``shoes_color``, ``hat`` (a colour or ``'none'``),
      ``upper_material``, ``lower_material``, ``viewpoint``
      (front/left/back/right) or ``angle`` (degrees), ``weather``,
      ``illumination``, ``background``, ``modality`` (visible/infrared);
    - vehicles: ``pid``, ``camid``, ``vehicle_type``, ``brand``, ``era``,
      ``color``, ``marks`` (list of mark names), ``viewpoint``
      (front/rear/side/oblique), ``facing``, ``weather``, ``illumination``,
      ``background``; framing: ``scale`` (vehicle size as a fraction of
      the shorter image side, default ~0.86), ``cx``, ``cy`` (its centre as
      fractions of the width / height; values outside 0..1 put it partly or
      wholly out of the frame).

    Values are words from :mod:`synthgen.toyworld.vocab` (or their index).
    The result's ``image`` is a ``PIL.Image`` (RGB), ``mask`` an ``(H, W)``
    uint8 label map (see ``vocab.LABELS``) and ``meta`` holds the full
    readable attributes plus ``pid``, ``clothes_id``, ``camid``,
    ``modality`` and ``seed``. All requests are rendered in one batch.

    Args:
        kind (str): ``'person'`` or ``'vehicle'``.
        size (tuple): ``(H, W)``; default 128x64 (persons), 128x128 (vehicles).
        seed (int): base seed for identities/outfits/cameras named by id.
        knobs (dict): difficulty knobs, see :class:`~synthgen.toyworld.Knobs`.
        cameras (dict, optional): ``camid -> camera table row`` (dict of
            one-row arrays, e.g. a toy dataset's ``replay_plan(root)
            .camera_row(camid)``): a request with that ``camid`` is filmed
            by that camera (its scene, background, colour cast, gain, noise,
            blur) instead of one sampled from the seed and the camid.

    Example:
        >>> from synthgen.registry import GENERATORS
        >>> gen = GENERATORS.build(dict(type='ToyWorldRenderer', kind='person'))
        >>> out = gen([dict(seed=1, attributes=dict(upper_color='red', pid=3))])
        >>> out[0]['meta']['attributes']['upper_color']
        'red'
    """

    def __init__(self, kind='person', size=None, seed=0, knobs=None,
                 cameras=None):
        if kind not in ('person', 'vehicle'):
            raise ValueError(f"ToyWorldRenderer kind={kind!r}: expected 'person' or "
                             "'vehicle'")
        self.kind = kind
        self.size = tuple(size) if size else ((128, 64) if kind == 'person'
                                              else (128, 128))
        self.seed = int(seed)
        self.knobs = knobs if isinstance(knobs, world.Knobs) else world.Knobs.from_dict(knobs)
        self.cameras = {int(c): {k: np.asarray(v).copy() for k, v in row.items()}
                        for c, row in (cameras or {}).items()}

    def _rng(self, *key):
        return np.random.default_rng([self.seed] + [int(k) for k in key])

    def _one(self, req):
        if not isinstance(req, dict) or 'seed' not in req:
            raise ValueError(f'ToyWorldRenderer request {req!r}: expected a dict with '
                             "'seed' and optional 'attributes'")
        attrs = dict(req.get('attributes') or {})
        seed = int(req['seed'])
        table_map = PERSON_ATTRS if self.kind == 'person' else _VEHICLE_ATTRS
        allowed = set(table_map) | set(_SPECIAL[self.kind])
        bad = sorted(set(attrs) - allowed)
        if bad:
            raise ValueError(f'ToyWorldRenderer ({self.kind}): unknown attribute(s) '
                             f'{bad}; expected some of {sorted(allowed)}')
        rs = np.random.default_rng([self.seed, 99, seed])
        pid = attrs.get('pid')
        id_rng = self._rng(1, pid) if pid is not None else rs
        k = self.knobs
        if self.kind == 'person':
            tabs = dict(id=person.sample_identities(id_rng, 1, k.identity_spread))
            cid = attrs.get('clothes_id')
            o_rng = (self._rng(2, pid if pid is not None else -1, cid)
                     if cid is not None else rs)
            tabs['outfit'] = person.sample_outfits(o_rng, 1)
        else:
            tabs = dict(id=vehicle.sample_vehicles(id_rng, 1, 1))
        camid = attrs.get('camid')
        if camid is not None and int(camid) in self.cameras:
            tabs['cam'] = {key: v.copy() for key, v in
                           self.cameras[int(camid)].items()}
        else:
            c_rng = self._rng(3, camid) if camid is not None else rs
            tabs['cam'] = world.sample_cameras(c_rng, 1, kind=self.kind,
                                               strength=k.camera_strength)
        tabs['jit'] = world.sample_jitter(rs, np.zeros(1, int), tabs['cam'], k,
                                          self.kind)
        for key, val in attrs.items():
            if key in table_map:
                tab, field, vocab = table_map[key]
                tabs[tab][field][0] = lookup(vocab, val, key)
        if self.kind == 'person':
            if 'hat' in attrs:
                hat = attrs['hat']
                tabs['outfit']['hat'][0] = int(hat != 'none')
                if hat != 'none':
                    tabs['outfit']['hat_color'][0] = lookup(COLOR_NAMES, hat, 'hat')
            if 'viewpoint' in attrs:
                v = lookup(PERSON_VIEWPOINTS, attrs['viewpoint'], 'viewpoint')
                tabs['jit']['angle'][0] = 90.0 * v
            if 'angle' in attrs:
                tabs['jit']['angle'][0] = float(attrs['angle']) % 360
        else:
            if 'marks' in attrs:
                marks = np.zeros(len(VEHICLE_MARKS), bool)
                for m in attrs['marks']:
                    marks[lookup(VEHICLE_MARKS, m, 'marks')] = True
                tabs['id']['marks'][0] = marks
            for key in ('scale', 'cx', 'cy'):
                if key in attrs:
                    tabs['jit'][key][0] = float(attrs[key])
        return tabs, dict(pid=pid if pid is not None else -1,
                          clothes_id=attrs.get('clothes_id', -1),
                          camid=camid if camid is not None else -1, seed=seed)

    def __call__(self, requests):
        if not requests:
            return []
        parts = [self._one(r) for r in requests]
        H, W = self.size
        p = {}
        for name in parts[0][0]:
            p.update(_stack([t[name] for t, _ in parts]))
        bank = world.build_bank(p, H, W, self.kind, self.knobs.camera_strength)
        img, lab = world.render_batch(p, H, W, bank, np.arange(len(parts)),
                                      self.kind, self.knobs.camera_strength)
        out = []
        for i, (_, meta) in enumerate(parts):
            meta = dict(meta, modality=int(p['modality'][i]),
                        attributes=image_attributes(self.kind, p, i))
            out.append(dict(image=Image.fromarray(img[i]), mask=lab[i], meta=meta))
        return out
