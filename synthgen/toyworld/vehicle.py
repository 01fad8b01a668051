"""Procedural vehicles: model archetypes, brand/era details, marks, viewpoints.

A vehicle is drawn in one of four viewpoints. The side view works in *length
units* (``s`` from the front bumper to the rear, ``z`` up from the ground);
front and rear views work in *width units*. The oblique view puts a
foreshortened front face beside a foreshortened side. Every part is a mask
over the batch's coordinate grids, painted back to front into a slot map.

Look-alike groups share archetype, brand, era and colour (and colour shade);
their members differ only by their marks (stickers, roof rack, dents,
decals), as in VeRi/VehicleID.
"""
from __future__ import annotations

import numpy as np

from . import scene
from .vocab import (VEHICLE_BRANDS, VEHICLE_COLOR_NAMES, VEHICLE_ERAS,
                    VEHICLE_MARKS, VEHICLE_RGB, VEHICLE_TYPES,
                    VEHICLE_VIEWPOINTS)

(BG, BODY, WINDOW, HEAD, TAIL, TYRE, HUB, GRILLE, PLATE, BUMPER, MARK1, MARK2,
 DENT, RACK, LOGO, SHADOW) = range(16)
NUM_SLOTS = 16
SLOT_LABEL = np.array([0, 10, 11, 12, 12, 10, 10, 10, 10, 10, 13, 13, 13, 13,
                       10, 0], np.uint8)

# Side profile per archetype (length units): clearance c, body top b, roof r,
# cabin base/top front a0/a1, cabin top/base rear a2/a3, wheel radius wr,
# wheel centres w1/w2, width/length ratio, window pillar period (0 = one).
_TYPE = {
    'sedan':     (.06, .22, .36, .26, .40, .68, .80, .075, .17, .80, .45, 0),
    'suv':       (.09, .30, .47, .24, .33, .88, .93, .090, .18, .80, .47, 0),
    'hatchback': (.06, .24, .41, .28, .41, .86, .95, .080, .18, .82, .46, 0),
    'van':       (.07, .29, .56, .04, .16, .97, .99, .080, .15, .82, .47, .18),
    'pickup':    (.09, .30, .48, .26, .35, .55, .57, .090, .18, .80, .47, 0),
    'bus':       (.06, .24, .62, .01, .03, .99, .99, .060, .12, .82, .30, .11),
    'truck':     (.08, .27, .52, .01, .05, .28, .30, .070, .14, .82, .33, 0),
}
TYPE_TABLE = np.array([_TYPE[t] for t in VEHICLE_TYPES], np.float32)
_TYPE_P = np.array([.3, .2, .15, .1, .1, .07, .08])

VEHICLE_KEYS = ('vtype', 'brand', 'era', 'color', 'shade', 'marks',
                'sticker_pos', 'sticker_color', 'decal_color', 'dent_pos',
                'group')


def sample_vehicles(rng, n, group_size=3, mark_range=(1, 3)):
    """Vehicle table for ``n`` vehicles in look-alike groups.

    Args:
        rng (np.random.Generator): randomness.
        n (int): number of vehicles.
        group_size (int): members per look-alike group (same type, brand,
            era, colour and shade). Members get distinct mark sets.
        mark_range (tuple): min/max number of marks per vehicle.
    """
    gs = max(1, int(group_size))
    group = np.arange(n) // gs
    ng = int(group.max()) + 1 if n else 0
    g_type = rng.choice(len(VEHICLE_TYPES), ng, p=_TYPE_P)
    g_brand = rng.integers(0, len(VEHICLE_BRANDS), ng)
    g_era = rng.integers(0, len(VEHICLE_ERAS), ng)
    g_color = rng.integers(0, len(VEHICLE_COLOR_NAMES), ng)
    g_shade = (0.04 * rng.standard_normal((ng, 3))).astype(np.float32)
    nm = len(VEHICLE_MARKS)
    marks = np.zeros((n, nm), bool)
    # enumerate distinct mark subsets within a group
    for g in range(ng):
        members = np.nonzero(group == g)[0]
        used = set()
        for m in members:
            for _ in range(50):
                k = rng.integers(mark_range[0], mark_range[1] + 1)
                sub = tuple(sorted(rng.choice(nm, k, replace=False)))
                if sub not in used:
                    break
            used.add(sub)
            marks[m, list(sub)] = True
    return dict(
        vtype=g_type[group], brand=g_brand[group], era=g_era[group],
        color=g_color[group], shade=g_shade[group], marks=marks,
        sticker_pos=rng.uniform(-1, 1, n).astype(np.float32),
        sticker_color=rng.uniform(0.1, 1.0, (n, 3)).astype(np.float32),
        decal_color=rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32),
        dent_pos=rng.uniform(0.3, 0.7, n).astype(np.float32),
        group=group,
    )


def camera_views(view_base, rng):
    """Per-image viewpoint index: a camera mostly sees one viewpoint."""
    base = (np.asarray(view_base) // 90).astype(int) % 4
    n = len(base)
    return np.where(rng.random(n) < 0.75, base, rng.integers(0, 4, n))


#: yaw (degrees) of each viewpoint when the vehicle faces left; facing right
#: mirrors it (360 - angle). 0 = the camera sees the front, 180 the rear.
VIEW_ANGLES = {'front': 0, 'oblique': 45, 'side': 90, 'rear': 180}


def view_angle(view, facing):
    """Orientation in degrees (0-359) of a rendered vehicle.

    Args:
        view (int | array): index into ``VEHICLE_VIEWPOINTS``.
        facing (int | array): 0 left, 1 right (right mirrors the yaw).

    Example:
        >>> int(view_angle(VEHICLE_VIEWPOINTS.index('side'), 1))
        270
    """
    table = np.array([VIEW_ANGLES[v] for v in VEHICLE_VIEWPOINTS])
    a = table[np.asarray(view, int)]
    return np.where(np.asarray(facing) == 0, a, (360 - a) % 360)


def vehicle_attributes(p, i):
    """Human-readable attributes of image ``i`` of a render batch ``p``."""
    return dict(
        vehicle_type=VEHICLE_TYPES[int(p['vtype'][i])],
        brand=VEHICLE_BRANDS[int(p['brand'][i])],
        era=VEHICLE_ERAS[int(p['era'][i])],
        color=VEHICLE_COLOR_NAMES[int(p['color'][i])],
        marks=[m for m, f in zip(VEHICLE_MARKS, p['marks'][i]) if f],
        viewpoint=VEHICLE_VIEWPOINTS[int(p['view'][i])],
        facing='left' if int(p['facing'][i]) == 0 else 'right',
        angle=int(view_angle(p['view'][i], p['facing'][i])),
        group=int(p['group'][i]),
    )


def _f(x):
    return np.asarray(x, np.float32)[:, None, None]


def _b(x):
    return np.asarray(x, bool)[:, None, None]


def _side(S, Z, p):
    """Slot map of side views; S, Z in length units (S=0 at the front)."""
    T = TYPE_TABLE[p['vtype']]
    c, b, r, a0, a1, a2, a3, wr, w1, w2, _, per = (_f(T[:, k]) for k in range(12))
    shape = np.broadcast_shapes(S.shape, Z.shape)
    slot = np.zeros(shape, np.uint8)
    put = np.putmask
    inS = (S >= 0) & (S <= 1)
    put(slot, inS & (Z > -0.025) & (Z < c + 0.01) & (S > w1 - wr) & (S < w2 + wr), SHADOW)
    body = inS & (Z >= c) & (Z <= b)
    body &= ~(((S < 0.025) | (S > 0.975)) & (Z > b - 0.03))
    put(slot, body, BODY)
    truck = _b(p['vtype'] == VEHICLE_TYPES.index('truck'))
    put(slot, truck & (S > 0.33) & (S <= 1) & (Z >= b - 0.1) & (Z <= 0.62), BODY)
    pickup = _b(p['vtype'] == VEHICLE_TYPES.index('pickup'))
    put(slot, pickup & (S > a3) & (S <= 1) & (Z >= b) & (Z <= b + 0.03), BODY)
    t = (Z - b) / (r - b)
    cab_rows = (t >= 0) & (t <= 1)
    front_edge = a0 + (a1 - a0) * t
    rear_edge = a3 + (a2 - a3) * t
    cabin = cab_rows & (S > front_edge) & (S < rear_edge)
    put(slot, cabin, BODY)
    m = 0.022
    win = ((Z > b + m) & (Z < r - m) & (S > front_edge + m) & (S < rear_edge - m))
    mid = (a1 + a2) * 0.5
    single = (per == 0)
    pillar = np.where(single, np.abs(S - mid) < 0.018,
                      ((S - a1) % np.maximum(per, 1e-3)) < 0.025)
    put(slot, win & ~pillar, WINDOW)
    put(slot, inS & (Z >= c) & (Z < c + 0.035), BUMPER)
    lz = (Z > b - 0.075) & (Z < b - 0.03)
    put(slot, lz & (S >= 0) & (S < 0.035), HEAD)
    put(slot, lz & (S > 0.965) & (S <= 1), TAIL)
    for w in (w1, w2):
        d2 = (S - w) ** 2 + (Z - wr) ** 2
        put(slot, d2 < wr * wr, TYRE)
        put(slot, d2 < (0.5 * wr) ** 2, HUB)
    mk = p['marks']
    mid_z = (c + b) * 0.5
    decal = _b(mk[:, 2]) & (np.abs(Z - mid_z) < 0.012) & (S > 0.12) & (S < 0.88)
    put(slot, decal & (slot == BODY), MARK2)
    dent = _b(mk[:, 4]) & (((S - _f(p['dent_pos'])) / 0.05) ** 2
                           + ((Z - mid_z - 0.02) / 0.03) ** 2 < 1)
    put(slot, dent & (slot == BODY), DENT)
    rack = (_b(mk[:, 3]) & (Z >= r) & (Z < r + 0.03) & (S > a1 + 0.03) & (S < a2 - 0.03)
            & ((Z > r + 0.018) | (((S * 25) % 1) < 0.3)))
    put(slot, rack, RACK)
    return slot


def _face(X, Z, p, rear):
    """Slot map of front (``rear`` False) or rear views; width units."""
    T = TYPE_TABLE[p['vtype']]
    wr_ = T[:, 10]
    c, b, r = (_f(T[:, k] / wr_) for k in (0, 1, 2))
    shape = np.broadcast_shapes(X.shape, Z.shape)
    slot = np.zeros(shape, np.uint8)
    put = np.putmask
    ax = np.abs(X)
    put(slot, (ax < 0.5) & (Z > -0.04) & (Z < c), SHADOW)
    put(slot, (ax > 0.31) & (ax < 0.47) & (Z >= 0) & (Z < c + 0.06), TYRE)
    body = (ax < 0.5) & (Z >= c) & (Z <= b) & ~((ax > 0.46) & (Z > b - 0.05))
    put(slot, body, BODY)
    t = (Z - b) / (r - b)
    cab = (t >= 0) & (t <= 1) & (ax < 0.47 - 0.1 * t)
    put(slot, cab, BODY)
    win = (Z > b + 0.035) & (Z < r - 0.045) & (ax < 0.41 - 0.1 * t)
    put(slot, win, WINDOW)
    put(slot, (ax > 0.46) & (ax < 0.545) & (Z > b + 0.01) & (Z < b + 0.07), BODY)
    put(slot, (ax < 0.5) & (Z >= c) & (Z < c + 0.075), BUMPER)
    put(slot, (ax < 0.11) & (Z > c + 0.02) & (Z < c + 0.07), PLATE)
    zl, zh = c + 0.1, b - 0.05
    zm = (zl + zh) * 0.5
    era = np.asarray(p['era'])
    lx, lzc = ax - 0.35, b - 0.085
    if not rear:
        br = np.asarray(p['brand']) % 6
        rows = (Z > zl) & (Z < zh)
        tg = (Z - zl) / (zh - zl + 1e-6)
        shapes = [rows & (ax < 0.22),
                  rows & (ax > 0.02) & (ax < 0.11),
                  rows & (ax < 0.09 + 0.09 * tg),
                  (np.abs(Z - zm) < 0.02) & (ax < 0.3),
                  (Z > c + 0.04) & (Z < zh) & (ax < 0.14),
                  (X / 0.17) ** 2 + ((Z - zm) / ((zh - zl) * 0.55)) ** 2 < 1]
        grille = np.zeros(shape, bool)
        for k, sh in enumerate(shapes):
            grille |= sh & _b(br == k)
        put(slot, grille, GRILLE)
        lights = ((_b(era == 0) & ((lx / 0.055) ** 2 + ((Z - lzc) / 0.05) ** 2 < 1))
                  | (_b(era == 1) & (np.abs(lx) < 0.08) & (np.abs(Z - lzc) < 0.035))
                  | (_b(era == 2) & (np.abs(lx - 0.02) < 0.1)
                     & (np.abs(Z - lzc - 0.02 + 0.1 * (ax - 0.35)) < 0.016)))
        put(slot, lights, HEAD)
        put(slot, (X ** 2 + (Z - zh - 0.01) ** 2) < 0.025 ** 2, LOGO)
    else:
        lights = ((_b(era == 0) & (np.abs(lx) < 0.05) & (np.abs(Z - lzc) < 0.04))
                  | (_b(era == 1) & (np.abs(lx - 0.05) < 0.04) & (np.abs(Z - lzc) < 0.06))
                  | (_b(era == 2) & (ax < 0.45) & (np.abs(Z - lzc - 0.02) < 0.013)))
        put(slot, lights, TAIL)
        put(slot, (X ** 2 + (Z - zm) ** 2) < 0.025 ** 2, LOGO)
    mk = p['marks']
    top_w = r - 0.1
    sx = 0.25 * _f(p['sticker_pos'])
    if not rear:
        st = _b(mk[:, 0]) & (np.abs(X - sx) < 0.04) & (np.abs(Z - top_w) < 0.04)
        put(slot, st & (slot == WINDOW), MARK1)
    else:
        st = _b(mk[:, 1]) & (np.abs(X + sx) < 0.05) & (np.abs(Z - top_w) < 0.035)
        put(slot, st & (slot == WINDOW), MARK1)
        bs = _b(mk[:, 5]) & (np.abs(X - 0.24) < 0.07) & (np.abs(Z - c - 0.04) < 0.025)
        put(slot, bs, MARK2)
    rack = (_b(mk[:, 3]) & (Z >= r) & (Z < r + 0.05) & (ax < 0.38)
            & ((Z > r + 0.03) | (ax > 0.3)))
    put(slot, rack, RACK)
    dent = _b(mk[:, 4]) & (((X - 0.3 * (_f(p['dent_pos']) - 0.5)) / 0.07) ** 2
                           + ((Z - c - 0.11) / 0.04) ** 2 < 1)
    put(slot, dent & (slot == BODY), DENT)
    return slot


def rasterize(p, H, W):
    """Slot map ``(B, H, W)`` for vehicle parameters ``p`` (see :func:`render`)."""
    B = len(p['view'])
    view = np.asarray(p['view'])
    unit = np.asarray(p['scale'], np.float32) * min(H, W)
    ys = (np.arange(H, dtype=np.float32) + 0.5)[None, :, None]
    xs = (np.arange(W, dtype=np.float32) + 0.5)[None, None, :]
    X = (xs - _f(np.asarray(p['cx']) * W)) / _f(unit)               # (B,1,W)
    Yd = (ys - _f(np.asarray(p['cy']) * H)) / _f(unit)              # (B,H,1)
    flip = _f(np.where(np.asarray(p['facing']) == 0, 1.0, -1.0))
    X = X * flip
    T = TYPE_TABLE[p['vtype']]
    roof, wr_ = T[:, 2], T[:, 10]
    slot = np.zeros((B, H, W), np.uint8)
    for v in range(4):
        idx = np.nonzero(view == v)[0]
        if not len(idx):
            continue
        q = {k: np.asarray(val)[idx] for k, val in p.items()
             if isinstance(val, np.ndarray) and val.shape[:1] == (B,)}
        x, yd = X[idx], Yd[idx]
        if v == 2:       # side: fit the length into the frame
            h = _f(roof[idx] + 0.04)
            slot[idx] = _side(x + 0.5, h * 0.5 - yd, q)
        elif v in (0, 1):
            hf = roof[idx] / wr_[idx] + 0.06
            k = _f(np.minimum(1.0, 0.95 / hf))
            z = (_f(hf) * k * 0.5 - yd) / k
            slot[idx] = _face(x / k, z, q, rear=(v == 1))
        else:            # oblique: front face beside the side
            fw = _f(0.6 * wr_[idx])
            g = 1.0 / (fw + 0.8)
            xl = (x + 0.5) / g
            zl = (_f(roof[idx] + 0.04) * g * 0.5 - yd) / g
            z_front = zl / _f(wr_[idx])
            front = _face(xl / fw - 0.5, z_front, q, rear=False)
            side = _side((xl - fw) / 0.8, zl, q)
            slot[idx] = np.where(xl < fw, front, side)
    return slot


def palette(p):
    """Colour of every slot ``(B, NUM_SLOTS, 3)``."""
    B = len(p['view'])
    pal = np.zeros((B, NUM_SLOTS, 3), np.float32)
    body = VEHICLE_RGB[p['color']] * (1 + np.asarray(p['shade']))
    pal[:, BODY] = body
    pal[:, WINDOW] = (0.16, 0.2, 0.26)
    pal[:, HEAD] = (0.97, 0.96, 0.85)
    pal[:, TAIL] = (0.85, 0.1, 0.1)
    pal[:, TYRE] = 0.07
    pal[:, HUB] = 0.6
    chrome = (np.asarray(p['brand']) % 2 == 0)[:, None]
    pal[:, GRILLE] = np.where(chrome, 0.62, 0.1)
    pal[:, PLATE] = (0.92, 0.92, 0.86)
    pal[:, BUMPER] = np.where((np.asarray(p['era']) == 0)[:, None], 0.18, body * 0.8)
    pal[:, MARK1] = p['sticker_color']
    pal[:, MARK2] = p['decal_color']
    pal[:, DENT] = body * 0.55
    pal[:, RACK] = 0.12
    pal[:, LOGO] = 0.8
    return np.clip(pal, 0, 1)


def render(p, H, W, strength=1.0):
    """Render a batch of vehicles.

    Args:
        p (dict): per-image arrays: vehicle keys (see :func:`sample_vehicles`),
            ``view`` (index into ``VEHICLE_VIEWPOINTS``), ``facing`` (0 left,
            1 right), ``scale``, ``cx``, ``cy`` and camera keys as for persons
            (``illum``, ``weather``, ``cast``, ``gain``, ``noise``, ``blur``,
            ``noise_idx``, ``particle_idx``, ``bg``).
        H, W (int): image size.

    Returns:
        (uint8 images ``(B, H, W, 3)``, uint8 label maps ``(B, H, W)``).
    """
    slot = rasterize(p, H, W)
    B = slot.shape[0]
    pal = palette(p)
    col = pal[np.arange(B)[:, None, None], slot]
    rows = (1.08 - 0.2 * (np.arange(H, dtype=np.float32) / H))[None, :, None, None]
    col = col * rows
    bg = p['bg']
    img = np.where((slot == BG)[..., None], bg,
                   np.where((slot == SHADOW)[..., None], bg * 0.45, col))
    img = scene.apply_camera(img, p['illum'], p['weather'], p['cast'], p['gain'],
                             p['noise'], p['blur'], p['noise_idx'],
                             p['particle_idx'], strength)
    return scene.to_uint8(img), SLOT_LABEL[slot]
