"""Backgrounds, illumination, weather, blur, noise and thermal look.

Everything here works on whole batches: images are float32 arrays
``(B, H, W, 3)`` in [0, 1]; per-image settings are arrays of length ``B``.
Random textures (backgrounds, noise, rain, snow) come from *banks* built once
per (seed, size) and indexed per image, so rendering itself draws no random
numbers and the same plan always gives the same pixels.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .vocab import ILLUMINATIONS, PERSON_SCENES, VEHICLE_SCENES, WEATHERS

# Per illumination: gain, RGB tint, extra sensor noise.
_ILLUM = {
    'dawn': (0.72, (1.06, 0.90, 0.88), 0.01),
    'morning': (0.95, (1.03, 1.00, 0.94), 0.0),
    'noon': (1.10, (1.00, 1.00, 1.00), 0.0),
    'afternoon': (1.00, (1.08, 0.98, 0.86), 0.0),
    'dusk': (0.62, (1.12, 0.86, 0.72), 0.015),
    'night': (0.36, (0.82, 0.88, 1.18), 0.03),
    'indoor': (0.88, (1.02, 0.98, 0.84), 0.005),
}
ILLUM_GAIN = np.array([_ILLUM[k][0] for k in ILLUMINATIONS], np.float32)
ILLUM_TINT = np.array([_ILLUM[k][1] for k in ILLUMINATIONS], np.float32)
ILLUM_NOISE = np.array([_ILLUM[k][2] for k in ILLUMINATIONS], np.float32)

# Per weather: contrast, saturation, fog amount, snow density, rain density.
_WEATHER = {
    'sunny': (1.15, 1.05, 0.0, 0.0, 0.0),
    'clouds': (0.95, 0.95, 0.05, 0.0, 0.0),
    'overcast': (0.80, 0.70, 0.10, 0.0, 0.0),
    'foggy': (0.75, 0.60, 0.45, 0.0, 0.0),
    'neutral': (1.00, 1.00, 0.0, 0.0, 0.0),
    'blizzard': (0.75, 0.55, 0.30, 1.0, 0.0),
    'snowlight': (0.95, 0.85, 0.08, 0.35, 0.0),
    'rain': (0.85, 0.80, 0.15, 0.0, 1.0),
}
W_CONTRAST, W_SAT, W_FOG, W_SNOW, W_RAIN = (
    np.array([_WEATHER[k][i] for k in WEATHERS], np.float32) for i in range(5))

# Person scenes: (top colour, ground colour, horizon, top texture,
# ground texture, texture period in pixels at H=128).
_PERSON_SCENE = {
    'sidewalk': ((0.62, 0.60, 0.58), (0.55, 0.54, 0.52), 0.55, 'windows', 'tiles', 14),
    'campus': ((0.70, 0.55, 0.45), (0.60, 0.58, 0.55), 0.50, 'bricks', 'tiles', 10),
    'park': ((0.35, 0.55, 0.30), (0.40, 0.58, 0.28), 0.45, 'noise', 'noise', 12),
    'plaza': ((0.75, 0.80, 0.88), (0.70, 0.66, 0.60), 0.40, 'plain', 'tiles', 20),
    'corridor': ((0.80, 0.78, 0.72), (0.45, 0.40, 0.36), 0.62, 'plain', 'tiles', 8),
    'station': ((0.55, 0.58, 0.62), (0.48, 0.48, 0.50), 0.58, 'windows', 'stripes', 12),
    'shopfront': ((0.50, 0.35, 0.30), (0.58, 0.56, 0.52), 0.60, 'windows', 'plain', 18),
    'stairs': ((0.68, 0.66, 0.62), (0.58, 0.56, 0.54), 0.35, 'plain', 'stripes', 7),
    'parking': ((0.45, 0.46, 0.48), (0.38, 0.38, 0.40), 0.50, 'bricks', 'stripes', 24),
}
_VEHICLE_SCENE = {
    'road': ((0.55, 0.62, 0.70), (0.33, 0.33, 0.35), 0.22, 'windows', 'lanes', 24),
    'intersection': ((0.60, 0.58, 0.55), (0.36, 0.36, 0.37), 0.18, 'bricks', 'crosswalk', 12),
    'highway': ((0.62, 0.72, 0.82), (0.30, 0.30, 0.31), 0.25, 'noise', 'lanes', 32),
    'parking_lot': ((0.50, 0.50, 0.52), (0.40, 0.40, 0.42), 0.15, 'plain', 'stripes', 30),
    'bridge': ((0.65, 0.75, 0.85), (0.35, 0.34, 0.33), 0.30, 'rail', 'lanes', 20),
}


def _smooth_noise(rng, n, h, w, cell):
    """Value noise: a coarse random grid upsampled with bilinear weights."""
    gh, gw = h // cell + 2, w // cell + 2
    grid = rng.random((n, gh, gw), dtype=np.float32)
    ys = np.arange(h, dtype=np.float32) / cell
    xs = np.arange(w, dtype=np.float32) / cell
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    g00 = grid[:, y0][:, :, x0]
    g01 = grid[:, y0][:, :, x0 + 1]
    g10 = grid[:, y0 + 1][:, :, x0]
    g11 = grid[:, y0 + 1][:, :, x0 + 1]
    return (g00 * (1 - fy) * (1 - fx) + g01 * (1 - fy) * fx
            + g10 * fy * (1 - fx) + g11 * fy * fx)


def _texture(kind, yy, xx, period, noise):
    """A [-1, 1] texture over pixel coordinates ``yy, xx`` (broadcastable)."""
    p = float(period)
    if kind == 'tiles':
        t = ((np.floor(yy / p) + np.floor(xx / p)) % 2) * 2 - 1
        return 0.35 * t + 0.4 * (noise - 0.5)
    if kind == 'bricks':
        row = np.floor(yy / (p * 0.5))
        mortar = ((yy % (p * 0.5)) < 1) | (((xx + (row % 2) * p * 0.5) % p) < 1)
        return np.where(mortar, 1.0, -0.2) + 0.5 * (noise - 0.5)
    if kind == 'windows':
        win = ((yy % p) > p * 0.3) & ((xx % p) > p * 0.35)
        return np.where(win, -1.0, 0.2) + 0.3 * (noise - 0.5)
    if kind == 'stripes':
        return ((np.floor(yy / (p * 0.5)) % 2) * 2 - 1) * 0.5 + 0.3 * (noise - 0.5)
    if kind == 'lanes':
        dash = ((yy % p) < p * 0.6) & (np.abs((xx % (p * 3)) - p * 1.5) < 1.2)
        return np.where(dash, 3.0, 0.0) + 0.5 * (noise - 0.5)
    if kind == 'crosswalk':
        bar = (xx % p) < p * 0.5
        return np.where(bar, 2.0, 0.0) + 0.5 * (noise - 0.5)
    if kind == 'rail':
        bar = ((yy % p) < 1.5) | ((xx % (p * 0.7)) < 1.2)
        return np.where(bar, -1.2, 0.0) + 0.4 * (noise - 0.5)
    if kind == 'noise':
        return 2.0 * (noise - 0.5)
    return 0.4 * (noise - 0.5)  # plain


def background_bank(scene_ids, seeds, height, width, vehicle=False, pad=16,
                    strength=1.0):
    """Render one background per (scene, seed) pair.

    Args:
        scene_ids (array of int): index into ``PERSON_SCENES`` or
            ``VEHICLE_SCENES``.
        seeds (array of int): one seed per entry (camera variation).
        height, width (int): image size; the bank is ``pad`` pixels wider so
            images can take shifted crops.
        vehicle (bool): use the vehicle scene table.
        strength (float): scales the random colour/horizon jitter.

    Returns:
        float32 array ``(N, height, width + pad, 3)``.
    """
    table = _VEHICLE_SCENE if vehicle else _PERSON_SCENE
    names = VEHICLE_SCENES if vehicle else PERSON_SCENES
    out = np.empty((len(scene_ids), height, width + pad, 3), np.float32)
    scale = height / 128.0
    yy = np.arange(height, dtype=np.float32)[:, None]
    xx = np.arange(width + pad, dtype=np.float32)[None, :]
    for i, (sid, seed) in enumerate(zip(scene_ids, seeds)):
        top, ground, horizon, ttex, gtex, period = table[names[int(sid)]]
        rng = np.random.default_rng([int(seed), int(sid), 7])
        def jit(col):
            # mostly brightness, a little hue: real scenes are rarely purple
            lum = 1 + strength * 0.3 * (rng.random() - 0.5)
            hue = 1 + strength * 0.1 * (rng.random(3) - 0.5)
            return np.clip(np.asarray(col) * lum * hue, 0, 1)
        top_c, ground_c = jit(top), jit(ground)
        hz = height * np.clip(horizon + strength * 0.08 * (rng.random() - 0.5) * 2,
                              0.1, 0.9)
        per = period * scale * (0.8 + 0.4 * rng.random())
        noise = _smooth_noise(rng, 1, height, width + pad,
                              max(2, int(4 * scale)))[0]
        t_top = _texture(ttex, yy, xx + rng.integers(0, 50), per, noise)
        t_gr = _texture(gtex, yy, xx + rng.integers(0, 50), per, noise)
        is_top = (yy < hz)
        shade = np.where(is_top, t_top, t_gr)[..., None]
        base = np.where(is_top[..., None], top_c, ground_c)
        # ground gets lighter towards the bottom (perspective haze at horizon)
        grad = 0.9 + 0.2 * (yy / height)[..., None]
        out[i] = np.clip(base * grad * (1 + 0.12 * shade), 0, 1)
    return out


@lru_cache(maxsize=16)
def noise_banks(height, width, seed=0, n=32):
    """Banks of sensor noise, snow and rain fields (cached per size)."""
    rng = np.random.default_rng([seed, height, width, 11])
    sensor = rng.standard_normal((n, height, width, 1)).astype(np.float32)
    snow_field = rng.random((n, height, width), dtype=np.float32)
    snow = (snow_field > 0.985).astype(np.float32)
    snow = np.maximum(snow, 0.6 * np.roll(snow, 1, axis=2))
    snow = np.maximum(snow, 0.6 * np.roll(snow, 1, axis=1))
    # rain: sparse seeds smeared along a slanted direction
    seeds = (rng.random((n, height, width), dtype=np.float32) > 0.994).astype(np.float32)
    rain = seeds.copy()
    step = max(1, height // 64)
    for k in range(1, 6):
        rain = np.maximum(rain, np.roll(np.roll(seeds, k * step * 2, axis=1),
                                        k * step, axis=2) * (1 - k / 7))
    return sensor, snow[..., None], rain[..., None]


def box_blur(img):
    """3x3 box blur of a ``(B, H, W, C)`` batch (edge pixels replicated)."""
    v = img.copy()
    v[:, 1:] += img[:, :-1]
    v[:, :-1] += img[:, 1:]
    v[:, 0] += img[:, 0]
    v[:, -1] += img[:, -1]
    h = v.copy()
    h[:, :, 1:] += v[:, :, :-1]
    h[:, :, :-1] += v[:, :, 1:]
    h[:, :, 0] += v[:, :, 0]
    h[:, :, -1] += v[:, :, -1]
    h *= np.float32(1.0 / 9.0)
    return h


def apply_blur(img, amount):
    """Blend each image with its box blur; ``amount`` in [0, 2] per image."""
    amount = np.asarray(amount, np.float32)
    if not np.any(amount > 0.01):
        return img
    b1 = box_blur(img)
    a1 = np.clip(amount, 0, 1)[:, None, None, None]
    out = img + a1 * (b1 - img)
    if np.any(amount > 1.0):
        a2 = np.clip(amount - 1.0, 0, 1)[:, None, None, None]
        out = out + a2 * (box_blur(out) - out)
    return out


def apply_camera(img, illum, weather, cast, gain, noise_sigma, blur, noise_idx,
                 particle_idx, strength=1.0):
    """Illumination, weather, blur and sensor noise for a visible batch.

    Args:
        img: float32 ``(B, H, W, 3)`` (may be modified in place).
        illum, weather: int arrays, indices into ``ILLUMINATIONS``/``WEATHERS``.
        cast: ``(B, 3)`` per-camera colour cast multipliers.
        gain: ``(B,)`` extra brightness factors.
        noise_sigma, blur: ``(B,)`` sensor noise std and blur amount.
        noise_idx, particle_idx: ``(B,)`` indices into :func:`noise_banks`.
        strength: scales the weather effects (difficulty knob).
    """
    B, H, W, _ = img.shape
    sensor, snow, rain = noise_banks(H, W)
    # tint, saturation, contrast and fog are affine per image: fold them into
    # out = a * img * tint + b * grey + d (grey = channel mean after tint)
    tint = (ILLUM_TINT[illum] * cast * (ILLUM_GAIN[illum] * gain)[:, None]).astype(np.float32)
    grey = np.einsum('bhwc,bc->bhw', img, tint / 3.0, optimize=False)
    sat = 1 + strength * (W_SAT[weather] - 1)
    con = 1 + strength * (W_CONTRAST[weather] - 1)
    fog = strength * W_FOG[weather]
    m = grey.mean(axis=(1, 2))
    fc = 0.78 * ILLUM_GAIN[illum]
    a = (1 - fog) * con * sat
    b = (1 - fog) * con * (1 - sat)
    d = (1 - fog) * (1 - con) * m + fog * fc
    img *= (a[:, None] * tint)[:, None, None, :]
    img += (b[:, None, None] * grey + d[:, None, None])[..., None]
    snow_d = strength * W_SNOW[weather]
    rain_d = strength * W_RAIN[weather]
    for dens, bank, top, k in ((snow_d, snow, 0.95, 1.0), (rain_d, rain, 0.85, 0.5)):
        sel = np.nonzero(dens > 0)[0]
        if len(sel):
            part = bank[particle_idx[sel] % len(bank)] * (k * dens[sel])[:, None, None, None]
            img[sel] += part * (top - img[sel])
    img = apply_blur(img, blur)
    sig = (noise_sigma + ILLUM_NOISE[illum]).astype(np.float32)
    img += sig[:, None, None, None] * sensor[noise_idx % len(sensor)]
    return img


def thermal_look(heat, blur, noise_sigma, gain, noise_idx):
    """Finish a thermal batch: ``heat`` ``(B, H, W)`` in [0, 1] -> grey RGB.

    Thermal cameras are blurrier and noisier than visible ones and have an
    automatic gain; the result is one channel repeated three times, as
    SYSU-MM01 stores its infrared images.
    """
    B, H, W = heat.shape
    sensor, _, _ = noise_banks(H, W)
    img = heat[..., None]
    img = apply_blur(img, blur + 0.8)
    img = img * gain[:, None, None, None]
    img = img + noise_sigma[:, None, None, None] * sensor[noise_idx % len(sensor)]
    return np.repeat(img, 3, axis=3)


def to_uint8(img):
    """float [0, 1] -> uint8 with rounding (``img`` is modified in place)."""
    img *= 255.0
    img += 0.5
    np.clip(img, 0.0, 255.0, out=img)
    return img.astype(np.uint8)
