"""Beyond the paper: the search drives a live attribute-controlled generator.

AOST filters a pre-rendered FineGPR (2,028,600 images, of which it keeps
124,200). With a generator whose attributes are inputs, the search can
instead look at a small *probe* (a few identities in every setting) and the
generator then renders the training identities **only in the settings the
search picked**. :class:`ToyFineGPRRenderStage` is that generator for the
toy world's renderer (``synthgen.toyworld``, FineGPR's layout and codes);
``configs/aost/toy_live_market_ide.py`` chains it:

    probe (render every setting, few ids) -> distances -> regress -> search
    -> render (the selected settings, all training ids) -> select -> ...

A text-to-image generator's prompt attributes would take the renderer's
place the same way (not built here).
"""
from __future__ import annotations

import json
import os.path as osp
import shutil
from typing import Dict, List, Optional

import numpy as np

from reidkit.registry import STAGES
from reidkit.stages import Stage
from reidkit.stages.base import atomic_write_text, plain

#: the toy renderer's codes (FineGPR's): 36 viewpoints, 7 weathers, 7 lights
FULL_GRID = dict(viewpoints=list(range(1, 37)), weathers=list(range(1, 8)),
                 illuminations=list(range(1, 8)))


def viewpoint_code(degrees: int) -> int:
    """FineGPR camera code of a viewpoint angle (c01 = 90 deg, c28 = 0 deg).

    >>> [viewpoint_code(d) for d in (90, 180, 0, 80)]
    [1, 10, 28, 36]
    """
    if int(degrees) % 10:
        raise ValueError(f'viewpoint {degrees} deg: FineGPR has 10-degree steps')
    return (int(degrees) // 10 - 9) % 36 + 1


def selection_grid(selection: dict) -> Dict[str, List[int]]:
    """Render grid (code lists) of a search result (``selection.json``:
    viewpoints in degrees, weather and illumination codes)."""
    try:
        return dict(viewpoints=sorted(viewpoint_code(d)
                                      for d in selection['viewpoint']),
                    weathers=sorted(int(w) for w in selection['weather']),
                    illuminations=sorted(int(i) for i in selection['illumination']))
    except KeyError as exc:
        raise ValueError(f'selection has no {exc} list; expected viewpoint, '
                         'weather and illumination (the search stage\'s output)'
                         ) from None


@STAGES.register_module()
class ToyFineGPRRenderStage(Stage):
    """Render a toy FineGPR (FineGPR's layout and codes) in chosen settings.

    Every identity is rendered in the full product of ``grid`` -- or of the
    search's selection when ``selection_file`` is given (the live generator:
    only the settings the search picked are rendered).

    Args:
        out_root (str): the FineGPR root written (``FineGPR/<pid>/...``).
        num_ids (int): identities.
        size (tuple): ``(H, W)``.
        seed (int): the same seed gives the same identities, whatever the
            grid.
        grid (dict, optional): ``viewpoints`` / ``weathers`` /
            ``illuminations`` code lists (default: all 36 x 7 x 7).
        selection_file (str, optional): the search stage's output; overrides
            ``grid``.
        knobs (dict, optional): toy-world knobs (``synthgen.toyworld.Knobs``).
        **kwargs: name, cfg, work_dir, depends_on.

    Example:
        >>> dict(name='render', type='ToyFineGPRRenderStage',
        ...      out_root='${work_dir}/rendered', num_ids=1150, size=(256, 128),
        ...      selection_file='${work_dir}/aost/selection.json')
    """

    def __init__(self, out_root: str, num_ids: int, size=(256, 128),
                 seed: int = 0, grid: Optional[dict] = None,
                 selection_file: Optional[str] = None,
                 knobs: Optional[dict] = None, **kwargs):
        super().__init__(**kwargs)
        self.out_root, self.num_ids = out_root, int(num_ids)
        self.size = tuple(int(x) for x in size)
        self.seed = int(seed)
        self.grid = plain(grid) if grid else None
        self.selection_file = selection_file
        self.knobs = plain(knobs or {})

    def inputs(self):
        return [self.selection_file] if self.selection_file else []

    def outputs(self):
        return [osp.join(self.out_root, '.rendered.json')]

    def render_grid(self) -> Dict[str, List[int]]:
        if self.selection_file:
            with open(self.selection_file, encoding='utf-8') as f:
                return selection_grid(json.load(f))
        return {k: [int(c) for c in v] for k, v in (self.grid or FULL_GRID).items()}

    def run(self):
        from mmengine.dist import is_main_process
        if not is_main_process():
            return None
        from synthgen.toyworld.layouts import plan_finegpr
        from synthgen.toyworld.output import write_plan
        from synthgen.toyworld.world import Knobs
        grid = self.render_grid()
        old = osp.join(self.out_root, 'FineGPR')
        if osp.isdir(old):  # another selection's images must not stay
            shutil.rmtree(old)
        plan = plan_finegpr(np.random.default_rng(self.seed), self.num_ids,
                            self.size, Knobs.from_dict(self.knobs), grid=grid)
        n = write_plan(plan, self.out_root, workers=1)
        info = dict(grid=grid, images=len(plan), ids=self.num_ids, files=n)
        atomic_write_text(self.outputs()[0], json.dumps(info, sort_keys=True))
        return dict(images=len(plan), per_id=len(plan) // self.num_ids)
