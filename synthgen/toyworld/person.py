"""Procedural persons: identity/outfit sampling and a vectorised rasteriser.

A person is drawn in *body units*: ``v`` runs from 0 (top of the head) to 1
(soles), ``u`` is the horizontal offset from the body axis in the same unit.
Every body part is a mask over the batch's coordinate grids (ellipses,
trapezoids and slanted bands), painted back to front into a *slot map*
(which palette entry colours a pixel); the slot map also gives the part
labels. Nothing loops over pixels; one call renders a whole batch.

Identity parameters (body build and proportions, skin, hair, face marks, gait,
bag) are subtle, learnable cues; outfit parameters (garment colours, pattern,
sleeves, lower garment, shoes, hat) are strong cues that change with the
clothes id, so a model trained on same-clothes data takes the clothes shortcut.
"""
from __future__ import annotations

import numpy as np

from . import scene
from .vocab import (BAGS, BUILDS, COLOR_NAMES, COLOR_RGB, FACE_MARKS,
                    HAIR_COLOR_NAMES, HAIR_RGB, HAIR_STYLES, LOWER_TYPES,
                    MATERIAL_HEAT, MATERIALS, PERSON_VIEWPOINTS, SKIN_RGB,
                    SKIN_TONE_NAMES, SLEEVES, UPPER_PATTERNS)

# Palette slots; SLOT_LABEL maps each to the mask label.
BG, SKIN, HAIR, UPPER, LOWER, SHOES, BAG, UPPER2, DARK, HAT, OCCL = range(11)
NUM_SLOTS = 11
SLOT_LABEL = np.array([0, 1, 2, 3, 4, 5, 6, 3, 1, 6, 0], np.uint8)

IDENTITY_KEYS = ('build', 'shoulder', 'girth', 'leg_ratio', 'head_size', 'skin',
                 'skin_shift', 'hair_style', 'hair_color', 'hair_len',
                 'face_mark', 'stride', 'arm_swing', 'bag', 'bag_color',
                 'height_cm')
OUTFIT_KEYS = ('upper_color', 'upper_pattern', 'upper_color2', 'sleeve',
               'lower_type', 'lower_color', 'shoes_color', 'hat', 'hat_color',
               'upper_material', 'lower_material', 'upper_len', 'skirt_len',
               'pattern_freq', 'shade')

_C = {n: i for i, n in enumerate(COLOR_NAMES)}
# Lower garments and shoes favour dark/neutral colours, as in real data.
_LOWER_P = np.ones(len(COLOR_NAMES))
for _n, _w in (('black', 5), ('navy', 4), ('blue', 4), ('gray', 3),
               ('beige', 2), ('brown', 2), ('white', 1.5)):
    _LOWER_P[_C[_n]] = _w
_LOWER_P /= _LOWER_P.sum()
_SHOE_P = np.full(len(COLOR_NAMES), 0.2)
for _n, _w in (('black', 5), ('white', 4), ('brown', 2), ('gray', 2)):
    _SHOE_P[_C[_n]] = _w
_SHOE_P /= _SHOE_P.sum()


def sample_identities(rng, n, spread=1.0):
    """Identity parameters for ``n`` persons (dict of arrays).

    Args:
        rng (np.random.Generator): source of randomness.
        n (int): number of identities.
        spread (float): scales the spread of the continuous body parameters;
            lower values make identities harder to tell apart.
    """
    build = rng.integers(0, len(BUILDS), n)
    r = lambda: rng.standard_normal(n).astype(np.float32)  # noqa: E731
    height = np.clip(172 + 9 * r(), 150, 198)
    long_hair = rng.random(n)
    ids = dict(
        build=build,
        shoulder=(0.118 + 0.014 * (build - 1) + spread * 0.007 * r()),
        girth=(0.80 + 0.07 * (build - 1) + spread * 0.04 * r()),
        leg_ratio=(0.50 + 0.0006 * (height - 172) + spread * 0.012 * r()),
        head_size=(0.128 + spread * 0.007 * r()),
        skin=rng.integers(0, len(SKIN_TONE_NAMES), n),
        skin_shift=(spread * 0.04 * rng.standard_normal((n, 3))).astype(np.float32),
        hair_style=rng.choice(len(HAIR_STYLES), n, p=[.34, .2, .12, .08, .16, .1]),
        hair_color=rng.choice(len(HAIR_COLOR_NAMES), n, p=[.45, .25, .12, .1, .08]),
        hair_len=(0.06 + 0.2 * long_hair).astype(np.float32),
        face_mark=rng.choice(len(FACE_MARKS), n, p=[.5, .22, .17, .11]),
        stride=(0.05 + spread * 0.025 * rng.random(n)).astype(np.float32),
        arm_swing=(0.02 + spread * 0.03 * rng.random(n)).astype(np.float32),
        bag=rng.choice(len(BAGS), n, p=[.4, .3, .18, .12]),
        bag_color=rng.integers(0, len(COLOR_NAMES), n),
        height_cm=height.astype(np.float32),
    )
    for k in ('shoulder', 'girth', 'leg_ratio', 'head_size'):
        ids[k] = ids[k].astype(np.float32)
    return ids


def sample_outfits(rng, n, shade_jitter=1.0):
    """Outfit (clothes) parameters for ``n`` outfits (dict of arrays)."""
    nc = len(COLOR_NAMES)
    upper = rng.integers(0, nc, n)
    upper2 = (upper + rng.integers(1, nc, n)) % nc
    lower_type = rng.choice(len(LOWER_TYPES), n, p=[.6, .2, .2])
    lower_color = rng.choice(nc, n, p=_LOWER_P)
    denim = (lower_color == _C['blue']) | (lower_color == _C['navy'])
    lower_mat = np.where(denim & (rng.random(n) < 0.8), 1,
                         rng.choice([0, 2, 3, 4], n, p=[.4, .2, .3, .1]))
    return dict(
        upper_color=upper,
        upper_pattern=rng.choice(len(UPPER_PATTERNS), n, p=[.5, .2, .15, .15]),
        upper_color2=upper2,
        sleeve=rng.choice(len(SLEEVES), n, p=[.45, .4, .15]),
        lower_type=lower_type,
        lower_color=lower_color,
        shoes_color=rng.choice(nc, n, p=_SHOE_P),
        hat=(rng.random(n) < 0.15).astype(np.int64),
        hat_color=rng.integers(0, nc, n),
        upper_material=rng.choice(len(MATERIALS), n, p=[.4, .1, .2, .25, .05]),
        lower_material=lower_mat,
        upper_len=(rng.random(n) * 0.08 - 0.01).astype(np.float32),
        skirt_len=(0.14 + 0.16 * rng.random(n)).astype(np.float32),
        pattern_freq=(22 + 14 * rng.random(n)).astype(np.float32),
        shade=(shade_jitter * 0.05 * rng.standard_normal((n, 3))).astype(np.float32),
    )


def angle_to_viewpoint(angle):
    """Viewpoint word index (front/left/back/right) for angles in degrees."""
    return ((np.asarray(angle) + 45) % 360 // 90).astype(int)


def person_attributes(p, i):
    """Human-readable attributes of image ``i`` of a render batch ``p``."""
    sl = int(p['sleeve'][i])
    out = dict(
        build=BUILDS[int(p['build'][i])],
        height_cm=int(round(float(p['height_cm'][i]))),
        skin_tone=SKIN_TONE_NAMES[int(p['skin'][i])],
        hair_style=HAIR_STYLES[int(p['hair_style'][i])],
        hair_color=HAIR_COLOR_NAMES[int(p['hair_color'][i])],
        face_mark=FACE_MARKS[int(p['face_mark'][i])],
        bag=BAGS[int(p['bag'][i])],
        upper_color=COLOR_NAMES[int(p['upper_color'][i])],
        upper_pattern=UPPER_PATTERNS[int(p['upper_pattern'][i])],
        sleeve=SLEEVES[sl],
        lower_type=LOWER_TYPES[int(p['lower_type'][i])],
        lower_color=COLOR_NAMES[int(p['lower_color'][i])],
        shoes_color=COLOR_NAMES[int(p['shoes_color'][i])],
        hat=COLOR_NAMES[int(p['hat_color'][i])] if p['hat'][i] else 'none',
        upper_material=MATERIALS[int(p['upper_material'][i])],
        lower_material=MATERIALS[int(p['lower_material'][i])],
        viewpoint=PERSON_VIEWPOINTS[int(angle_to_viewpoint(p['angle'][i]))],
        angle=int(round(float(p['angle'][i]))) % 360,
    )
    if out['upper_pattern'] != 'plain':
        out['upper_color2'] = COLOR_NAMES[int(p['upper_color2'][i])]
    if out['bag'] != 'none':
        out['bag_color'] = COLOR_NAMES[int(p['bag_color'][i])]
    return out


def _f(x):
    return np.asarray(x, np.float32)[:, None, None]


def _m(x):
    return np.asarray(x, bool)[:, None, None]


_INF = np.float32(np.inf)


class _Canvas:
    """Paints row-wise intervals ``lo(v) < u < hi(v)`` into a slot map.

    Every shape is described per image row by an interval of ``u``
    (arrays of shape (B, H, 1)); painting it costs two comparisons against
    the (B, 1, W) column grid, which is far cheaper than evaluating a 2-D
    implicit function per pixel.
    """

    def __init__(self, u, B, H, W):
        self.u = u
        self.slot = np.zeros((B, H, W), np.uint8)

    def mask(self, rows, lo, hi):
        lo = np.where(rows, lo, _INF)
        return (self.u > lo) & (self.u < hi)

    def paint(self, rows, lo, hi, k, where=None):
        if not np.any(rows):
            return None
        m = self.mask(rows, lo, hi)
        if where is not None:
            m &= where
        np.putmask(self.slot, m, k)
        return m


def _ellipse(v, cu, cv, ru, rv):
    """Row intervals (rows, lo, hi) of an ellipse."""
    q = 1.0 - ((v - cv) / rv) ** 2
    half = ru * np.sqrt(np.maximum(q, 0.0))
    return q > 0, cu - half, cu + half


def rasterize(p, H, W):
    """Slot map ``(B, H, W)`` uint8 and horizontal shading ``(B, 1, W)``.

    ``p`` holds per-image arrays: identity and outfit keys plus ``angle``
    (degrees), ``phase`` (gait phase, radians), ``scale`` (body height as a
    fraction of the image height), ``cx`` and ``top`` (body axis x and head
    top y, as fractions of W and H), and occlusion ``occ`` (0 none, 1 bottom,
    2 left, 3 right) with ``occ_ext`` (covered fraction).
    """
    B = len(p['angle'])
    th = np.deg2rad(np.asarray(p['angle'], np.float32))
    c, s = np.cos(th), np.sin(th)
    front, back = c > 0.38, c < -0.38
    fdir = (-np.sign(s) * (np.abs(s) > 0.2)).astype(np.float32)
    wf = np.sqrt(c * c + (0.62 * s) ** 2)
    hp = np.asarray(p['scale'], np.float32) * H
    ys = (np.arange(H, dtype=np.float32) + 0.5)[None, :, None]
    xs = (np.arange(W, dtype=np.float32) + 0.5)[None, None, :]
    v = (ys - _f(np.asarray(p['top'], np.float32) * H)) / _f(hp)      # (B,H,1)
    u = (xs - _f(np.asarray(p['cx'], np.float32) * W)) / _f(hp)       # (B,1,W)
    cv = _Canvas(u, B, H, W)
    paint = cv.paint

    head = _f(p['head_size'])
    v_s = head * 1.12
    v_h = _f(1.0 - np.asarray(p['leg_ratio']))
    v_a = np.float32(0.955)
    sh = _f(p['shoulder'] * wf)
    hh = sh * _f(p['girth'])
    build = np.asarray(p['build'])
    aw = _f(0.024 + 0.005 * (build - 1))
    lw = _f((0.034 + 0.004 * (build - 1)) * (0.8 + 0.2 * wf))
    fd = _f(fdir)
    lateral = _f(np.maximum(np.abs(c), 0.12))
    side = _f(np.abs(s))
    swing = _f(np.sin(np.asarray(p['phase'], np.float32)))
    stride = _f(p['stride'])
    F, BK = _m(front), _m(back)

    # ---- legs (skin), trousers/shorts, shoes
    t_leg = np.clip((v - v_h) / (v_a - v_h), 0, 1)
    leg_rows = (v >= v_h) & (v <= v_a)
    lt = np.asarray(p['lower_type'])
    cover = _f(np.where(lt == 0, 1.0, np.where(lt == 1, 0.36, 0.0)))
    foot_rows = (v > v_a - 0.02) & (v < 1.0)
    for k in (-1.0, 1.0):
        cen = k * 0.046 * lateral + k * stride * swing * side * t_leg
        paint(leg_rows, cen - lw, cen + lw, SKIN)
        paint(leg_rows & (t_leg < cover), cen - lw, cen + lw, LOWER)
        fc = k * 0.046 * lateral + k * stride * swing * side + 0.022 * fd
        fw = lw * 1.15 + 0.012 * side
        paint(foot_rows, fc - fw, fc + fw, SHOES)
    paint((v >= v_h - 0.01) & (v < v_h + 0.075), -hh * 1.02, hh * 1.02, LOWER)
    sk = (v >= v_h) & (v < v_h + _f(p['skirt_len'])) & _m(lt == 2)
    half = hh + (v - v_h) * 0.4
    paint(sk, -half, half, LOWER)

    # ---- a backpack seen from the front: only its edges peek out
    bag = np.asarray(p['bag'])
    bp_rows = (v > v_s + 0.02) & (v < v_s + 0.24) & _m(bag == 1)
    paint(bp_rows & F, -sh - 0.012, sh + 0.012, BAG)

    # ---- long hair behind the torso (front view)
    hs = np.asarray(p['hair_style'])
    hair_w = head * 0.45 * _f(0.85 + 0.15 * wf)
    hb_rows = (v > head * 0.4) & (v < v_s + _f(p['hair_len'])) & _m(hs == 1)
    paint(hb_rows & ~BK, -hair_w, hair_w, HAIR)

    # ---- torso (upper garment) with rounded shoulders
    t_tor = np.clip((v - v_s) / (v_h - v_s), 0, 1)
    thalf = sh + (hh - sh) * t_tor
    thalf_c = np.minimum(thalf, sh * np.sqrt(np.maximum(v - v_s, 0) / 0.035))
    tor_rows = (v >= v_s) & (v < v_h + _f(p['upper_len']))
    paint(tor_rows, -thalf_c, thalf_c, UPPER)

    # ---- arms with sleeves
    v_hand = v_h + 0.07
    t_arm = (v - v_s - 0.01) / (v_hand - v_s)
    arm_rows = (t_arm >= 0) & (t_arm <= 1)
    sleeve_t = _f(np.array([0.86, 0.36, -0.1], np.float32)[np.asarray(p['sleeve'])])
    ahalf = aw * (1.05 - 0.25 * t_arm)
    for k in (-1.0, 1.0):
        cen = (k * (sh + aw * 0.55) * lateral + k * 0.012 * t_arm
               - k * _f(p['arm_swing']) * swing * side * t_arm * 2.2)
        paint(arm_rows, cen - ahalf, cen + ahalf, SKIN)
        paint(arm_rows & (t_arm < sleeve_t), cen - ahalf, cen + ahalf, UPPER)

    # ---- pattern on the upper garment
    pat = np.asarray(p['upper_pattern'])
    if np.any(pat > 0):
        f = _f(p['pattern_freq'])
        pv = (np.floor(v * f) % 2) == 1                               # (B,H,1)
        pu = (np.floor(u * f) % 2) == 1                               # (B,1,W)
        pm = np.where(_m(pat == 2), pv ^ pu, pv & _m(pat == 1))
        logo = cv.mask((v > v_s + 0.06) & (v < v_s + 0.12) & _m(pat == 3) & F,
                       np.float32(-0.035), np.float32(0.035))
        np.putmask(cv.slot, (pm | logo) & (cv.slot == UPPER), UPPER2)

    # ---- shoulder bag (strap + bag) and handbag
    b2 = _m(bag == 2)
    sc = (-0.9 * thalf + 1.8 * thalf * t_tor) * _f(np.where(c >= 0, 1.0, -1.0))
    paint(tor_rows & b2 & _m(np.abs(s) < 0.9), np.maximum(sc - 0.011, -thalf_c),
          np.minimum(sc + 0.011, thalf_c), BAG)
    paint((v > v_h - 0.05) & (v < v_h + 0.08) & b2, hh - 0.01, hh + 0.07, BAG)
    hbc = -(sh + aw) * lateral
    paint((v > v_hand - 0.02) & (v < v_hand + 0.07) & _m(bag == 3),
          hbc - 0.035, hbc + 0.035, BAG)

    # ---- neck and head
    hu = 0.018 * fd
    paint((v > head * 0.8) & (v < v_s + 0.01), hu * 0.5 - head * 0.17,
          hu * 0.5 + head * 0.17, SKIN)
    hw = head * 0.39 * _f(0.88 + 0.12 * wf)
    hcv = head * 0.5
    hrows, hlo, hhi = _ellipse(v, hu, hcv, hw, head * 0.5)
    paint(hrows, hlo, hhi, SKIN)

    # ---- face marks (front and side views)
    fm = np.asarray(p['face_mark'])
    facing = _m(c > -0.2)
    eye_rows = hrows & facing & (np.abs(v - head * 0.48) < head * 0.06)
    eye_u = hu + 0.16 * hw * fd
    for k in (-1.0, 1.0):
        ec = eye_u + k * hw * 0.38 * lateral
        paint(eye_rows, np.maximum(ec - hw * 0.14, hlo), np.minimum(ec + hw * 0.14, hhi),
              DARK)
    g_rows = (hrows & facing & _m((fm == 1) | (fm == 3))
              & (np.abs(v - head * 0.48) < head * 0.085))
    paint(g_rows, np.maximum(eye_u - hw * 0.8, hlo), np.minimum(eye_u + hw * 0.8, hhi),
          DARK)
    paint(hrows & facing & _m(fm >= 2) & (v > head * 0.7), hlo, hhi, HAIR)

    # ---- hair on the head
    not_bald = _m(hs != 5)
    r1, lo1, hi1 = _ellipse(v, hu, hcv, hw * 1.086, head * 0.543)
    cap_cut = head * _f(np.where(hs == 4, 0.05, 0.18))
    paint(r1 & (v < hcv - cap_cut) & not_bald, lo1, hi1, HAIR)
    # back of the head in side views: the half away from the face
    r2, lo2, hi2 = _ellipse(v, hu, hcv, hw * 1.05, head * 0.525)
    edge = hu - 0.2 * hw * fd
    bh_lo = np.where(fd < 0, np.maximum(lo2, edge), lo2)
    bh_hi = np.where(fd > 0, np.minimum(hi2, edge), hi2)
    paint(r2 & _m(np.abs(s) > 0.3) & not_bald, bh_lo, bh_hi, HAIR)
    paint(r2 & BK & (v < hcv + head * 0.35) & not_bald, lo2, hi2, HAIR)
    r3, lo3, hi3 = _ellipse(v, hu, hcv, hw * 1.22, head * 0.61)
    paint(r3 & _m(hs == 4) & (v < hcv + head * 0.1), lo3, hi3, HAIR)
    rp, lop, hip = _ellipse(v, hu - 0.9 * hw * fd * side, hcv + head * 0.35,
                            hw * 0.45, head * 0.4)
    paint(rp & _m(hs == 2) & ~F, lop, hip, HAIR)
    rb, lob, hib = _ellipse(v, hu - 0.3 * hw * fd, head * 0.02, hw * 0.45, head * 0.22)
    paint(rb & _m(hs == 3), lob, hib, HAIR)
    paint(hb_rows & BK, -hair_w, hair_w, HAIR)

    # ---- hat: crown and brim
    hat = _m(np.asarray(p['hat']) == 1)
    rh, loh, hih = _ellipse(v, hu, hcv, hw * 1.12, head * 0.56)
    paint(rh & hat & (v < hcv - head * 0.12), loh, hih, HAT)
    bc = hu + 0.3 * hw * fd
    paint(hat & (np.abs(v - (hcv - head * 0.12)) < head * 0.06),
          bc - hw * 1.35, bc + hw * 1.35, HAT)

    # ---- backpack on the back / side
    bp_off = _f(np.where(back, 0.0, 1.0)) * (-fd) * (thalf * 0.9 + 0.02)
    bw = np.where(BK, sh * 0.8, np.float32(0.035))
    paint(bp_rows & ~F, bp_off - bw, bp_off + bw, BAG)

    # ---- occluder (not part of the person)
    occ = np.asarray(p.get('occ', np.zeros(B)))
    if np.any(occ > 0):
        ext = _f(p['occ_ext'])
        yy = ys / H
        xx = xs / W
        om = ((_m(occ == 1) & (yy > 1 - ext))
              | (_m(occ == 2) & (xx < ext)) | (_m(occ == 3) & (xx > 1 - ext)))
        np.putmask(cv.slot, om, OCCL)

    shade = 1.0 - 0.32 * np.clip((u / (sh + aw + 0.01)) ** 2, 0, 1)     # (B,1,W)
    return cv.slot, shade.astype(np.float32)


def palette(p):
    """Visible palette ``(B, NUM_SLOTS, 3)`` for a batch."""
    B = len(p['angle'])
    pal = np.zeros((B, NUM_SLOTS, 3), np.float32)
    jit = np.asarray(p.get('color_jit', np.zeros(B)), np.float32)[:, None]
    shade = np.asarray(p['shade'], np.float32)
    pal[:, SKIN] = SKIN_RGB[p['skin']] + p['skin_shift']
    pal[:, HAIR] = HAIR_RGB[p['hair_color']]
    pal[:, UPPER] = COLOR_RGB[p['upper_color']] * (1 + shade) * (1 + jit)
    pal[:, UPPER2] = COLOR_RGB[p['upper_color2']] * (1 + shade) * (1 + jit)
    pal[:, LOWER] = COLOR_RGB[p['lower_color']] * (1 + shade[:, ::-1]) * (1 + jit)
    pal[:, SHOES] = COLOR_RGB[p['shoes_color']] * 0.9
    pal[:, BAG] = COLOR_RGB[p['bag_color']] * 0.85
    pal[:, DARK] = 0.08
    pal[:, HAT] = COLOR_RGB[p['hat_color']]
    pal[:, OCCL] = np.asarray(p.get('occ_color', np.full((B, 3), 0.4)), np.float32)
    return np.clip(pal, 0, 1)


def heat_palette(p):
    """Infrared palette ``(B, NUM_SLOTS)``: skin warm, garments by material."""
    B = len(p['angle'])
    heat = np.zeros((B, NUM_SLOTS), np.float32)
    heat[:, SKIN] = 0.88
    heat[:, HAIR] = 0.42
    heat[:, UPPER] = MATERIAL_HEAT[p['upper_material']]
    heat[:, UPPER2] = MATERIAL_HEAT[p['upper_material']] * 0.97
    heat[:, LOWER] = MATERIAL_HEAT[p['lower_material']] * 0.95
    heat[:, SHOES] = 0.3
    heat[:, BAG] = 0.28
    heat[:, DARK] = 0.6
    heat[:, HAT] = 0.4
    heat[:, OCCL] = 0.25
    return heat


def render(p, H, W, strength=1.0):
    """Render a batch of persons.

    Args:
        p (dict): per-image arrays (see :func:`rasterize`) plus camera keys
            ``modality`` (0 visible, 1 infrared), ``illum``, ``weather``,
            ``cast`` (B,3), ``gain``, ``noise``, ``blur``, ``noise_idx``,
            ``particle_idx`` and the background ``bg`` (B, H, W, 3).
        H, W (int): image size.
        strength (float): camera-effect strength (difficulty knob).

    Returns:
        (uint8 images ``(B, H, W, 3)``, uint8 label maps ``(B, H, W)``).
    """
    slot, shade = rasterize(p, H, W)
    B = slot.shape[0]
    out = np.empty((B, H, W, 3), np.uint8)
    mod = np.asarray(p['modality'])
    vis = np.nonzero(mod == 0)[0]
    ir = np.nonzero(mod == 1)[0]
    bg = p['bg']
    for sel, infrared in ((vis, False), (ir, True)):
        if not len(sel):
            continue
        sub = p if len(sel) == B else {
            k: (val[sel] if isinstance(val, np.ndarray) and val.shape[:1] == (B,)
                else val) for k, val in p.items()}
        sl = slot if len(sel) == B else slot[sel]
        n = len(sel)
        flat = sl.astype(np.intp) + (np.arange(n) * NUM_SLOTS)[:, None, None]
        is_bg = (sl == BG)
        if not infrared:
            col = np.take(palette(sub).reshape(-1, 3), flat, axis=0)
            col *= shade[sel][..., None]
            np.copyto(col, sub['bg'] if len(sel) < B else bg, where=is_bg[..., None])
            img = scene.apply_camera(col, sub['illum'], sub['weather'], sub['cast'],
                                     sub['gain'], sub['noise'], sub['blur'],
                                     sub['noise_idx'], sub['particle_idx'], strength)
        else:
            heat = np.take(heat_palette(sub).reshape(-1), flat)
            heat *= 0.85 + 0.15 * shade[sel]
            bgs = sub['bg'] if len(sel) < B else bg
            np.copyto(heat, 0.12 + 0.1 * bgs.sum(axis=3), where=is_bg)
            img = scene.thermal_look(heat, sub['blur'], sub['noise'] * 1.5,
                                     sub['gain'] * (0.9 + 0.2 * sub['cast'][:, 0]),
                                     sub['noise_idx'])
        out[sel] = scene.to_uint8(img)
    return out, SLOT_LABEL[slot]
