"""A stand-in for DiVE's fine-tuned SD-1.5 in the toy world: it renders an
external identity's attributes (the toy Market's
``_toy_annotations/attributes.jsonl``) as an infrared person with
:class:`ToyWorldRenderer`, in the look of the requested infrared camera of
the target toy dataset (multi-view) or in one generic infrared look (single
view)."""
from __future__ import annotations

import json
from typing import Dict, List, Optional

import numpy as np

from synthgen.registry import GENERATORS
from synthgen.toyworld import replay_plan
from synthgen.toyworld.generator import PERSON_ATTRS, ToyWorldRenderer

#: identity-level attributes (body and outfit, and the hat); camera ones are
#: the look's
IDENTITY_KEYS = tuple(k for k, (table, _, _) in PERSON_ATTRS.items()
                      if table in ('id', 'outfit')) + ('hat',)
#: camera id of the single generic infrared look (no real camera has it)
GENERIC_IR_CAMERA = 1000


def identity_attributes(attributes_file: str) -> Dict[int, dict]:
    """pid -> identity attributes of its first annotated image."""
    out: Dict[int, dict] = {}
    with open(attributes_file) as f:
        for line in f:
            row = json.loads(line)
            pid = int(row['pid'])
            if pid in out:
                continue
            attrs = row.get('attributes') or {}
            out[pid] = {k: attrs[k] for k in IDENTITY_KEYS if k in attrs}
    return out


@GENERATORS.register_module()
class DiVEToyIRGenerator:
    """Toy DiVE generator: identity attributes -> infrared rendering.

    A request's ``pid`` is the external (Market) id; ``camid`` the infrared
    camera. The identity is rendered from its annotated attributes (body,
    hair, bag, outfit, hat); what the annotations do not hold (body
    proportions, sleeve and skirt lengths, ...) is drawn once per identity
    (the renderer's ``pid``), so every image of one identity shows the same
    person, as one learned identity token would. ``view='camera'``: the look
    of that camera id -- with ``target_root`` the target toy dataset's own
    camera (scene, background, gain, noise, blur of its ``cam3`` / ``cam6``,
    what DiVE's per-camera code word learns from the target's infrared
    images), without it a camera drawn from the camid; ``view='single'``:
    one generic infrared look for every image. ``perturb`` replaces each
    identity attribute, with that probability, by a value drawn for the
    identity (once per identity: an identity token that inverted the person
    imperfectly is wrong in the same way in every image it renders).

    Args:
        attributes_file (str): the external set's ``attributes.jsonl``.
        view (str): ``'camera'`` or ``'single'``.
        perturb (float): probability of replacing each attribute.
        size (tuple): ``(H, W)``. Defaults to (128, 64).
        seed (int): the renderer's seed (the toy datasets use 0).
        target_root (str, optional): the target toy dataset (written by
            ``tools/make_toy_data.py``) whose cameras ``view='camera'``
            films with.

    Example:
        >>> gen = DiVEToyIRGenerator('data/toy_market/_toy_annotations/'
        ...                          'attributes.jsonl',
        ...                          target_root='data/toy/sysu_mm01')
        >>> out = gen([dict(pid=2, camid=3, seed=0)])  # doctest: +SKIP
    """

    def __init__(self, attributes_file: str, view: str = 'camera',
                 perturb: float = 0.0, size=(128, 64), seed: int = 0,
                 target_root: Optional[str] = None) -> None:
        if view not in ('camera', 'single'):
            raise ValueError(f"DiVEToyIRGenerator: view must be 'camera' or "
                             f"'single', got {view!r}")
        if not 0 <= perturb <= 1:
            raise ValueError('DiVEToyIRGenerator: perturb must be in [0, 1],'
                             f' got {perturb}')
        self.identities = identity_attributes(attributes_file)
        self.view, self.perturb, self.seed = view, float(perturb), int(seed)
        cameras = {}
        if target_root and view == 'camera':
            plan = replay_plan(target_root)
            cameras = {c: plan.camera_row(c) for c in sorted(
                {r['camid'] for r in plan.records})}
        self.renderer = ToyWorldRenderer('person', size=size, seed=seed,
                                         cameras=cameras)

    def attributes(self, req: dict) -> dict:
        pid = int(req['pid'])
        if pid not in self.identities:
            raise KeyError(f'DiVEToyIRGenerator: no attributes for id {pid}')
        attrs = dict(self.identities[pid])
        if self.perturb > 0:
            rng = np.random.default_rng([self.seed, pid, 7])
            attrs = {k: v for k, v in attrs.items()
                     if rng.random() >= self.perturb}
        attrs.update(pid=pid, clothes_id=0, modality='infrared',
                     camid=(int(req['camid']) if self.view == 'camera'
                            else GENERIC_IR_CAMERA))
        return attrs

    def __call__(self, requests: List[dict]) -> List[dict]:
        outs = self.renderer([dict(seed=int(r['seed']),
                                   attributes=self.attributes(r))
                              for r in requests])
        return [dict(image=o['image'], meta=dict(toy_view=self.view))
                for o in outs]
