"""Cameras, per-image jitter, difficulty knobs and batch rendering.

The world is sampled in tables: identities (one row per person/vehicle),
outfits (one row per (identity, clothes)), cameras (one row per camera) and
images (one row per image: which identity/outfit/camera plus the per-image
jitter). :func:`render_batch` gathers the rows of a slice of images and draws
them in one vectorised call.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import person, scene, vehicle
from .vocab import ILLUMINATIONS, PERSON_SCENES, VEHICLE_SCENES, WEATHERS


@dataclasses.dataclass
class Knobs:
    """Difficulty knobs of the toy world (all have CI-friendly defaults).

    Args:
        identity_spread (float): spread of the identity cues (body build,
            proportions, skin shade, gait). Lower = identities harder to tell
            apart. Default 1.0.
        lookalike_frac (float): fraction of persons whose first outfit copies
            another person's outfit exactly, so only identity cues separate
            them. Default 0.3.
        camera_strength (float): scales everything that differs between
            cameras: colour cast, gain, blur, noise, weather effects and
            background jitter. 0 = all cameras alike. Default 1.0.
        color_jitter (float): per-image garment brightness jitter (std).
            Default 0.06.
        occlusion_prob (float): probability that an image is partly covered
            by an occluder. Default 0.1.
        view_spread (float): std (degrees) of the per-image viewing angle
            around the camera's usual directions. Default 35.
        scale_jitter (float): std of the body height fraction. Default 0.04.
        vehicle_group_size (int): vehicles per look-alike group (same type,
            brand, era and colour; they differ only by their marks). 1
            disables look-alikes. Default 3.
    """
    identity_spread: float = 1.0
    lookalike_frac: float = 0.3
    camera_strength: float = 1.0
    color_jitter: float = 0.06
    occlusion_prob: float = 0.1
    view_spread: float = 35.0
    scale_jitter: float = 0.04
    vehicle_group_size: int = 3

    @classmethod
    def from_dict(cls, d):
        d = dict(d or {})
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - names)
        if bad:
            raise ValueError(f'unknown toy-world knob(s) {bad}; expected some of '
                             f'{sorted(names)}')
        return cls(**d)


_INDOOR = {'corridor', 'station'}


def sample_cameras(rng, n, kind='person', strength=1.0, modality=None,
                   scenes=None, illums=None, weathers=None):
    """Camera table of ``n`` cameras (dict of arrays).

    ``modality``/``scenes``/``illums``/``weathers`` fix those columns (array
    or scalar); the rest is drawn from ``rng``.
    """
    names = VEHICLE_SCENES if kind == 'vehicle' else PERSON_SCENES
    scene_ids = (rng.integers(0, len(names), n) if scenes is None
                 else np.broadcast_to(np.asarray(scenes), (n,)).copy())
    day = [ILLUMINATIONS.index(k) for k in ('dawn', 'morning', 'noon',
                                              'afternoon', 'dusk')]
    if illums is None:
        illum = rng.choice(day, n, p=[.1, .3, .25, .25, .1])
        indoor = np.array([names[s] in _INDOOR for s in scene_ids])
        illum = np.where(indoor, ILLUMINATIONS.index('indoor'), illum)
    else:
        illum = np.broadcast_to(np.asarray(illums), (n,)).copy()
    if weathers is None:
        weather = rng.choice(len(WEATHERS), n,
                             p=[.25, .2, .15, .08, .2, .02, .05, .05])
    else:
        weather = np.broadcast_to(np.asarray(weathers), (n,)).copy()
    st = float(strength)
    return dict(
        scene=scene_ids.astype(np.int64),
        bg_seed=rng.integers(0, 2 ** 31, n),
        illum=illum.astype(np.int64),
        weather=weather.astype(np.int64),
        cast=(1 + st * 0.08 * rng.uniform(-1, 1, (n, 3))).astype(np.float32),
        gain=(1 + st * 0.12 * rng.standard_normal(n)).astype(np.float32),
        noise=(0.008 + st * 0.02 * rng.random(n)).astype(np.float32),
        blur=(st * 0.7 * rng.random(n)).astype(np.float32),
        scale_mu=(0.86 + 0.05 * rng.random(n)).astype(np.float32),
        view_base=rng.uniform(0, 360, n).astype(np.float32),
        modality=(np.zeros(n, np.int64) if modality is None
                  else np.broadcast_to(np.asarray(modality), (n,)).astype(np.int64)),
    )


def sample_jitter(rng, cam_of_image, cams, knobs, kind='person'):
    """Per-image jitter (dict of arrays) for images seen by ``cam_of_image``."""
    n = len(cam_of_image)
    ci = np.asarray(cam_of_image)
    k = knobs
    st = k.camera_strength
    if kind == 'vehicle':
        view = vehicle.camera_views(cams['view_base'][ci], rng)
        jit = dict(
            view=view, facing=rng.integers(0, 2, n),
            scale=np.clip(0.86 + k.scale_jitter * rng.standard_normal(n), 0.6, 1.0),
            cx=0.5 + 0.03 * rng.standard_normal(n),
            cy=0.54 + 0.03 * rng.standard_normal(n),
        )
    else:
        flip = rng.random(n) < 0.5
        angle = (cams['view_base'][ci] + 180 * flip
                 + k.view_spread * rng.standard_normal(n)) % 360
        jit = dict(
            angle=angle.astype(np.float32),
            phase=rng.uniform(0, 2 * np.pi, n).astype(np.float32),
            scale=np.clip(cams['scale_mu'][ci] + k.scale_jitter
                          * rng.standard_normal(n), 0.6, 1.05),
            cx=0.5 + 0.035 * rng.standard_normal(n),
        )
        jit['top'] = (0.5 * (1 - jit['scale'])
                      + 0.02 * rng.standard_normal(n))
        occ = np.where(rng.random(n) < k.occlusion_prob,
                       rng.integers(1, 4, n), 0)
        jit.update(occ=occ, occ_ext=rng.uniform(0.15, 0.35, n),
                   occ_color=rng.uniform(0.1, 0.8, (n, 3)))
        jit['color_jit'] = k.color_jitter * rng.standard_normal(n)
    jit.update(
        blur=cams['blur'][ci] + st * 0.25 * rng.random(n),
        gain=cams['gain'][ci] * (1 + st * 0.05 * rng.standard_normal(n)),
        noise_idx=rng.integers(0, 1 << 20, n),
        particle_idx=rng.integers(0, 1 << 20, n),
        bg_off=rng.integers(0, 16, n),
    )
    return {key: (np.asarray(val, np.float32) if np.asarray(val).dtype.kind == 'f'
                  else np.asarray(val)) for key, val in jit.items()}


def build_bank(cams, H, W, kind='person', strength=1.0):
    """Backgrounds, one per camera: ``(n_cams, H, W + 16, 3)``."""
    return scene.background_bank(cams['scene'], cams['bg_seed'], H, W,
                                 vehicle=(kind == 'vehicle'), strength=strength)


def gather(idx, tables):
    """Per-image parameter dict for image rows ``idx``.

    ``tables`` is a list of ``(table_dict, row_index_array)`` pairs; the rows
    of each table named by ``row_index_array[idx]`` are gathered.
    """
    out = {}
    for table, rows in tables:
        r = rows[idx]
        for k, v in table.items():
            out[k] = v[r]
    return out


def render_batch(p, H, W, bank, cam_idx, kind='person', strength=1.0):
    """Render images with per-image parameters ``p``.

    Args:
        p (dict): gathered identity/outfit/camera/jitter arrays.
        bank: background bank from :func:`build_bank`.
        cam_idx (array): bank row per image.
    Returns:
        (uint8 images (B, H, W, 3), uint8 labels (B, H, W)).
    """
    B = len(cam_idx)
    off = np.asarray(p['bg_off']) % (bank.shape[2] - W + 1)
    p = dict(p)
    # one slice copy per image (memcpy speed); no per-pixel work
    p['bg'] = np.stack([bank[r, :, o:o + W] for r, o in zip(np.asarray(cam_idx), off)])
    p['noise'] = np.asarray(p['noise'], np.float32)
    if kind == 'vehicle':
        return vehicle.render(p, H, W, strength)
    assert B == len(p['angle'])
    return person.render(p, H, W, strength)
