"""One plan builder per benchmark layout (see ``shared/datasets.md``).

Each ``plan_<kind>(rng, num_ids, size, knobs)`` samples a small world and
returns an :class:`~synthgen.toyworld.output.Plan` whose paths and side files
follow the official release of that benchmark. Where public loaders disagree
or the release is not documented, the choice is stated in the docstring.
"""
from __future__ import annotations

import numpy as np

from ..layouts import prcc
from . import person, vehicle, world
from .output import Plan
from .vocab import (BAGS, COLOR_NAMES, COLOR_RGB, FACE_MARKS, HAIR_STYLES,
                    ILLUMINATIONS, LOWER_TYPES, PERSON_SCENES, SLEEVES,
                    VEHICLE_COLOR_NAMES, VEHICLE_TYPES)

_ILL = {k: i for i, k in enumerate(ILLUMINATIONS)}
_SCN = {k: i for i, k in enumerate(PERSON_SCENES)}


# ------------------------------------------------------------------ helpers
def person_world(rng, n_ids, outfits_per_id, knobs, n_extra=0):
    """Identity and outfit tables; returns (ids, outfits, first_outfit_row).

    A ``knobs.lookalike_frac`` share of the first ``n_ids`` persons come in
    groups of 2-3 wearing exactly the same first outfit (look-alikes that
    only identity cues separate). ``n_extra`` more persons (e.g. Market
    distractors) are appended with one outfit each and no look-alikes.
    """
    ids = person.sample_identities(rng, n_ids + n_extra, knobs.identity_spread)
    counts = np.broadcast_to(np.asarray(outfits_per_id), (n_ids,)).astype(int)
    counts = np.concatenate([counts, np.ones(n_extra, int)])
    outfits = person.sample_outfits(rng, int(counts.sum()))
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)
    n_la = min(n_ids, int(round(knobs.lookalike_frac * n_ids)))
    if n_la == 1 and n_ids > 1:
        n_la = 2
    chosen = rng.choice(n_ids, n_la, replace=False)
    # groups of 2-3 persons share the leader's first outfit
    groups, s = [], 0
    while s < n_la:
        k = int(rng.integers(2, 4))
        if n_la - (s + k) == 1:
            k += 1
        groups.append(chosen[s:s + k])
        s += k
    for g in groups:
        for i in g[1:]:
            for table in outfits.values():
                table[first[i]] = table[first[g[0]]]
    return ids, outfits, first


def benchmark_ids(rng, n, max_id):
    """``n`` distinct sorted ids in [1, max(max_id, n)]."""
    return np.sort(rng.choice(np.arange(1, max(max_id, n) + 1), n, replace=False))


def split_ids(rng, n, fracs):
    """Shuffle ``range(n)`` and cut it into parts with sizes ~ ``fracs``."""
    perm = rng.permutation(n)
    sizes = [max(1, int(round(f * n))) for f in fracs[:-1]]
    parts, s = [], 0
    for k in sizes:
        parts.append(np.sort(perm[s:s + k]))
        s += k
    parts.append(np.sort(perm[s:]))
    return parts


def _lines(rows):
    return ''.join(r + '\n' for r in rows)


def _person_plan(size, cams, ids, outfits):
    plan = Plan('person', size)
    plan.cams, plan.ids, plan.outfits = cams, ids, outfits
    return plan


# ------------------------------------------------------------------ Market
def plan_market1501(rng, num_ids, size, knobs):
    """Market-1501: ``bounding_box_train/``, ``query/``, ``bounding_box_test/``.

    Names ``0002_c1s1_000451_03.jpg``; the gallery also holds distractors
    (pid ``0000``: zoomed-in partial bodies) and junk (pid ``-1``: boxes
    with hardly any person), as the real release does. Queries: one image
    per (test id, camera) for a random subset of its cameras.
    """
    n_cam = 6
    cams = world.sample_cameras(rng, n_cam, strength=knobs.camera_strength)
    n_extra = max(2, num_ids // 5)
    ids, outfits, first = person_world(rng, num_ids, 1, knobs, n_extra)
    pids = benchmark_ids(rng, num_ids, 1501)
    train, test = split_ids(rng, num_ids, [0.5, 0.5])
    plan = _person_plan(size, cams, ids, outfits)
    frame = [0]

    def name(pid, cam):
        frame[0] += int(rng.integers(5, 400))
        seq = int(rng.integers(1, 7))
        box = int(rng.integers(1, 4))
        return f'{pid:04d}_c{cam + 1}s{seq}_{frame[0]:06d}_{box:02d}.jpg'

    for split, rows in (('train', train), ('test', test)):
        for r in rows:
            pid = int(pids[r])
            ncam = int(rng.integers(2, n_cam + 1))
            cs = np.sort(rng.choice(n_cam, ncam, replace=False))
            qcams = set(rng.choice(cs, max(1, ncam // 2), replace=False).tolist())
            for c in cs:
                k = int(rng.integers(2, 5))
                for j in range(k):
                    if split == 'train':
                        folder, sp = 'bounding_box_train', 'train'
                    elif j == 0 and c in qcams:
                        folder, sp = 'query', 'query'
                    else:
                        folder, sp = 'bounding_box_test', 'gallery'
                    plan.add(f'{folder}/{name(pid, c)}', r, c, pid, c + 1, sp,
                             outfit_row=first[r], clothes_id=-1)
    n_gal = sum(rec['split'] == 'gallery' for rec in plan.records)
    special = []
    for pid, count in ((0, max(2, n_gal // 20)), (-1, max(2, n_gal // 30))):
        for _ in range(count):
            r = num_ids + int(rng.integers(n_extra))
            c = int(rng.integers(n_cam))
            nm = name(max(pid, 0), c)
            if pid < 0:
                nm = '-1' + nm[4:]
            special.append(plan.add(f'bounding_box_test/{nm}', r, c, pid, c + 1,
                                    'gallery', outfit_row=first[r]))
    plan.finalize(rng, knobs)
    j = plan.jitter
    for i in special:
        if plan.records[i]['pid'] == 0:      # distractor: zoomed-in body part
            j['scale'][i] = rng.uniform(1.6, 2.4)
            j['top'][i] = -rng.uniform(0.1, 0.8)
        else:                                # junk: mostly background
            j['scale'][i] = rng.uniform(0.5, 0.9)
            j['cx'][i] = rng.choice([-0.45, 1.45])
    return plan


# ------------------------------------------------------------------ MSMT17
def plan_msmt17(rng, num_ids, size, knobs):
    """MSMT17 (V1 style): ``train/<pid>/``, ``test/<pid>/`` and list files.

    Names ``0000_000_01_0303morning_0015_0.jpg`` (pid, index, camera, date
    and time of day, frame, box); the camera is the third ``_`` field.
    ``list_train.txt``/``list_val.txt`` (paths relative to ``train/``) and
    ``list_query.txt``/``list_gallery.txt`` (relative to ``test/``) hold
    ``relpath pid`` lines; train and test pids are numbered separately from 0.
    ``list_val`` is a random ~10% of the training images, as in V1.
    """
    n_cam = 15
    tod = ['morning', 'noon', 'afternoon']
    cam_tod = rng.integers(0, 3, n_cam)
    illum = np.array([_ILL[t] for t in tod])[cam_tod]
    cams = world.sample_cameras(rng, n_cam, strength=knobs.camera_strength,
                                illums=illum)
    cam_date = rng.choice(['0113', '0302', '0303', '0113'], n_cam)
    ids, outfits, first = person_world(rng, num_ids, 1, knobs)
    train, test = split_ids(rng, num_ids, [0.5, 0.5])
    plan = _person_plan(size, cams, ids, outfits)
    lists = {'list_train.txt': [], 'list_val.txt': [], 'list_query.txt': [],
             'list_gallery.txt': []}
    for split, rows in (('train', train), ('test', test)):
        for label, r in enumerate(rows):
            ncam = int(rng.integers(2, 6))
            cs = np.sort(rng.choice(n_cam, ncam, replace=False))
            qcam = int(rng.choice(cs))
            k = 0
            for c in cs:
                for j in range(int(rng.integers(2, 5))):
                    frame = int(rng.integers(1, 9999))
                    nm = (f'{label:04d}_{k:03d}_{c + 1:02d}_{cam_date[c]}'
                          f'{tod[cam_tod[c]]}_{frame:04d}_{int(rng.integers(0, 3))}.jpg')
                    k += 1
                    rel = f'{label:04d}/{nm}'
                    if split == 'train':
                        lst = 'list_val.txt' if rng.random() < 0.1 else 'list_train.txt'
                        sp = 'train'
                    elif c == qcam and j == 0:
                        lst, sp = 'list_query.txt', 'query'
                    else:
                        lst, sp = 'list_gallery.txt', 'gallery'
                    lists[lst].append(f'{rel} {label}')
                    plan.add(f'{split}/{rel}', r, c, label, c + 1, sp,
                             outfit_row=first[r])
    plan.files = {k: _lines(v) for k, v in lists.items()}
    plan.finalize(rng, knobs)
    return plan


# ------------------------------------------------------------------ PRCC
def plan_prcc(rng, num_ids, size, knobs):
    """PRCC (RGB part): ``rgb/{train,val}/<pid>/{A,B,C}_cropped_rgbNNN.jpg``
    and ``rgb/test/{A,B,C}/<pid>/cropped_rgbNNN.jpg``
    (:mod:`synthgen.layouts.prcc`, the layout reidkit's parser reads).

    Cameras A and B see the first outfit, camera C a second one (and a
    different scene). Train, val and test hold disjoint identities.
    """
    cams = world.sample_cameras(rng, len(prcc.CAMID),
                                strength=knobs.camera_strength)
    ids, outfits, first = person_world(rng, num_ids, 2, knobs)
    test, val, train = split_ids(rng, num_ids, [0.32, 0.08, 0.6])
    plan = _person_plan(size, cams, ids, outfits)
    outfit_of = {key: n for n, key in enumerate(dict.fromkeys(
        prcc.CLOTHES.values()))}  # 'AB' -> first outfit, 'C' -> second
    for split, rows in (('train', train), ('val', val), ('test', test)):
        for r in rows:
            pid = int(r) + 1
            k = 0
            for letter, c in prcc.CAMID.items():
                orow = first[r] + outfit_of[prcc.CLOTHES[letter]]
                for j in range(int(rng.integers(3, 6))):
                    k += 1
                    if split == 'test':
                        rel = prcc.test_relpath(letter, pid, k)
                        sp = 'gallery' if letter == prcc.GALLERY_CAMERA \
                            else 'query'
                    else:
                        rel = prcc.train_relpath(split, pid, letter, k)
                        sp = split
                    plan.add(rel, r, c, pid, c, sp, outfit_row=orow,
                             clothes_id=int(orow))
    plan.finalize(rng, knobs)
    return plan


# ------------------------------------------------------------------ LTCC
def plan_ltcc(rng, num_ids, size, knobs):
    """LTCC: ``{train,query,test}/<pid>_<clothes>_c<cam>_<frame>.png``.

    12 cameras; ~80% of the identities change clothes (2-4 outfits), the
    rest keep one. Queries: 2-3 images per test id from distinct
    (camera, outfit) pairs; everything else is gallery (``test/``).
    """
    n_cam = 12
    cams = world.sample_cameras(rng, n_cam, strength=knobs.camera_strength)
    n_out = np.where(rng.random(num_ids) < 0.8, rng.integers(2, 5, num_ids), 1)
    ids, outfits, first = person_world(rng, num_ids, n_out, knobs)
    train, test = split_ids(rng, num_ids, [0.5, 0.5])
    plan = _person_plan(size, cams, ids, outfits)
    frame = 0
    for split, rows in (('train', train), ('test', test)):
        for r in rows:
            pid = int(r) + 1
            items = []
            for o in range(n_out[r]):
                for c in rng.choice(n_cam, int(rng.integers(2, 4)), replace=False):
                    # test pairs keep >= 1 gallery image after a query is taken
                    lo = 1 if split == 'train' else 2
                    for _ in range(int(rng.integers(lo, 4))):
                        items.append((o, int(c)))
            qset = set()
            if split == 'test':
                pairs = sorted(set(items))
                for q in rng.permutation(len(pairs))[:int(rng.integers(2, 4))]:
                    qset.add(pairs[q])
            for o, c in items:
                frame += int(rng.integers(1, 50))
                nm = f'{pid:03d}_{o + 1}_c{c + 1}_{frame:06d}.png'
                if split == 'train':
                    folder, sp = 'train', 'train'
                elif (o, c) in qset:
                    folder, sp = 'query', 'query'
                    qset.discard((o, c))
                else:
                    folder, sp = 'test', 'gallery'
                plan.add(f'{folder}/{nm}', r, c, pid, c + 1, sp,
                         outfit_row=first[r] + o, clothes_id=int(first[r] + o))
    plan.finalize(rng, knobs)
    return plan


# ------------------------------------------------------------------ VC-Clothes
def plan_vc_clothes(rng, num_ids, size, knobs):
    """VC-Clothes: ``{train,query,gallery}/<pid>-<cam>-<clothes>-<idx>.jpg``.

    Four cameras; cameras 1 and 2 see outfit 1, camera 3 outfit 2 and
    camera 4 outfit 3 (30%: outfit 1 again), so the cameras 3/4 protocol
    is clothes-changing. Queries: one image per (test id, camera).
    """
    cams = world.sample_cameras(rng, 4, strength=knobs.camera_strength)
    ids, outfits, first = person_world(rng, num_ids, 3, knobs)
    pids = benchmark_ids(rng, num_ids, 512)
    train, test = split_ids(rng, num_ids, [0.5, 0.5])
    plan = _person_plan(size, cams, ids, outfits)
    for split, rows in (('train', train), ('test', test)):
        for r in rows:
            pid = int(pids[r])
            cam4 = 3 if rng.random() < 0.7 else 1
            for c, clothes in enumerate((1, 1, 2, cam4)):
                for idx in range(1, int(rng.integers(2, 5)) + 1):
                    nm = f'{pid:04d}-{c + 1:02d}-{clothes:02d}-{idx:02d}.jpg'
                    if split == 'train':
                        folder = sp = 'train'
                    elif idx == 1:
                        folder = sp = 'query'
                    else:
                        folder = sp = 'gallery'
                    orow = first[r] + clothes - 1
                    plan.add(f'{folder}/{nm}', r, c, pid, c + 1, sp,
                             outfit_row=orow, clothes_id=int(orow))
    plan.finalize(rng, knobs)
    return plan


# ------------------------------------------------------------------ SYSU-MM01
def plan_sysu_mm01(rng, num_ids, size, knobs):
    """SYSU-MM01: ``cam1..cam6/<pid:04d>/<idx:04d>.jpg`` and ``exp/*_id.txt``.

    RGB cameras 1, 2 (indoor) and 4, 5 (outdoor); infrared cameras 3
    (indoor) and 6 (outdoor), written as 3-channel grey JPEGs. Every
    identity is seen by 1-3 RGB and 1-2 IR cameras in one outfit. The id
    files hold comma-separated ids (train/val/test ~ 60/20/20%).
    """
    indoor = [_SCN['corridor'], _SCN['station']]
    outdoor = [_SCN['sidewalk'], _SCN['campus'], _SCN['plaza'], _SCN['park']]
    scenes = np.array([rng.choice(indoor), rng.choice(indoor), rng.choice(indoor),
                       rng.choice(outdoor), rng.choice(outdoor), rng.choice(outdoor)])
    cams = world.sample_cameras(rng, 6, strength=knobs.camera_strength,
                                modality=np.array([0, 0, 1, 0, 0, 1]), scenes=scenes)
    ids, outfits, first = person_world(rng, num_ids, 1, knobs)
    train, val, test = split_ids(rng, num_ids, [0.6, 0.2, 0.2])
    plan = _person_plan(size, cams, ids, outfits)
    split_of = {}
    for sp, rows in (('train', train), ('val', val), ('test', test)):
        for r in rows:
            split_of[int(r)] = sp
    for r in range(num_ids):
        pid = r + 1
        rgb = rng.choice([0, 1, 3, 4], int(rng.integers(1, 4)), replace=False)
        ir = rng.choice([2, 5], int(rng.integers(1, 3)), replace=False)
        sp = split_of[r]
        for c in sorted(np.concatenate([rgb, ir]).tolist()):
            tsp = sp if sp != 'test' else ('query' if c in (2, 5) else 'gallery')
            for idx in range(1, int(rng.integers(3, 7)) + 1):
                plan.add(f'cam{c + 1}/{pid:04d}/{idx:04d}.jpg', r, c, pid, c + 1,
                         tsp, outfit_row=first[r])
    plan.files = {f'exp/{n}_id.txt': ','.join(str(int(r) + 1) for r in rows) + '\n'
                  for n, rows in (('train', train), ('val', val), ('test', test))}
    plan.finalize(rng, knobs)
    return plan


# ------------------------------------------------------------------ LLCM
def plan_llcm(rng, num_ids, size, knobs):
    """LLCM: ``{train,test}_{vis,nir}/cam<c>/<pid:04d>/<idx:04d>.jpg``.

    ``idx/train_vis.txt`` and ``idx/train_nir.txt`` hold ``relpath label``
    lines with labels relabelled 0..N-1 (the LLCM training code uses them
    as class indices directly); ``idx/test_id.txt`` holds comma-separated
    test ids. Visible cameras 1-9, infrared cameras 1, 2, 4-9 (no nir cam3);
    visible light is low (dawn/dusk/night). File names are 8 characters, as
    loaders that slice the path (``path[-15]`` = camera) expect.
    """
    low = [_ILL['dawn'], _ILL['dusk'], _ILL['night']]
    n_phys = 9
    scenes = rng.integers(0, len(PERSON_SCENES), n_phys)
    illum = rng.choice(low, n_phys)
    vis = world.sample_cameras(rng, n_phys, strength=knobs.camera_strength,
                               scenes=scenes, illums=illum, modality=0)
    nir = world.sample_cameras(rng, n_phys, strength=knobs.camera_strength,
                               scenes=scenes, illums=illum, modality=1)
    cams = {k: np.concatenate([vis[k], nir[k]]) for k in vis}
    ids, outfits, first = person_world(rng, num_ids, 1, knobs)
    train, test = split_ids(rng, num_ids, [0.67, 0.33])
    plan = _person_plan(size, cams, ids, outfits)
    lists = {'idx/train_vis.txt': [], 'idx/train_nir.txt': []}
    for split, rows in (('train', train), ('test', test)):
        for label, r in enumerate(rows):
            pid = int(r) + 1
            for c in np.sort(rng.choice(n_phys, int(rng.integers(2, 5)), replace=False)):
                for mod, tag in ((0, 'vis'), (1, 'nir')):
                    if mod == 1 and c == 2:
                        continue
                    for idx in range(1, int(rng.integers(2, 5)) + 1):
                        rel = f'{split}_{tag}/cam{c + 1}/{pid:04d}/{idx:04d}.jpg'
                        if split == 'train':
                            lists[f'idx/train_{tag}.txt'].append(f'{rel} {label}')
                            sp = 'train'
                        else:
                            sp = 'query' if mod == 1 else 'gallery'
                        plan.add(rel, r, c + mod * n_phys, pid, c + 1, sp,
                                 outfit_row=first[r])
    plan.files = {k: _lines(v) for k, v in lists.items()}
    plan.files['idx/test_id.txt'] = ','.join(str(int(r) + 1) for r in test) + '\n'
    plan.finalize(rng, knobs)
    return plan


# ------------------------------------------------------------------ FineGPR
FINEGPR_DIR = 'FineGPR'
#: FineGPR's colour codes (README: 01 black ... 09 brown).
_FINEGPR_COLORS = ('black', 'white', 'red', 'purple', 'gray', 'yellow', 'blue',
                   'green', 'brown')
_FINEGPR_ID_ATTRS = ('gender', 'hair_length', 'age', 'glasses', 'short_sleeve',
                     'top_length', 'dress', 'boots', 'hat', 'bag', 'shoes_color',
                     'upper_color', 'lower_color')


def finegpr_viewpoint(code):
    """Release viewpoint of camera code ``cCC``: c01 = 90 deg, c28 = 0 deg."""
    return ((np.asarray(code) - 1) * 10 + 90) % 360


def _finegpr_color(idx):
    """Nearest FineGPR colour code (1-9) of toy colour indices."""
    ref = COLOR_RGB[[COLOR_NAMES.index(c) for c in _FINEGPR_COLORS]]
    d = ((COLOR_RGB[np.asarray(idx)][:, None] - ref[None]) ** 2).sum(-1)
    return d.argmin(1) + 1


def finegpr_id_attributes(ids, outfits, first):
    """The 13 identity-level codes (README order, 0 = not annotated).

    The toy person has no gender, age or boots (written 0); the other ten
    follow from the toy tables: long hair = long/ponytail/bun, glasses from
    the face mark, short sleeve = short or sleeveless, long top =
    ``upper_len > 0.03``, dress = skirt, shoes dark when their luminance
    is < 0.5, clothes colours = nearest of FineGPR's nine.
    """
    o = {k: v[first] for k, v in outfits.items()}
    yes = lambda m: np.where(m, 1, 2)  # noqa: E731
    hair_long = np.isin(ids['hair_style'], [HAIR_STYLES.index(h) for h in
                                            ('long', 'ponytail', 'bun')])
    glasses = np.isin(ids['face_mark'], [FACE_MARKS.index('glasses'),
                                         FACE_MARKS.index('glasses_beard')])
    lum = COLOR_RGB[o['shoes_color']] @ np.array([.299, .587, .114], np.float32)
    zero = np.zeros(len(first), np.int64)
    cols = dict(
        gender=zero, hair_length=yes(hair_long), age=zero, glasses=yes(glasses),
        short_sleeve=yes(o['sleeve'] != SLEEVES.index('long')),
        top_length=yes(o['upper_len'] > 0.03),
        dress=yes(o['lower_type'] == LOWER_TYPES.index('skirt')), boots=zero,
        hat=yes(o['hat'] == 1), bag=yes(ids['bag'] != BAGS.index('none')),
        shoes_color=np.where(lum < 0.5, 1, 2),
        upper_color=_finegpr_color(o['upper_color']),
        lower_color=_finegpr_color(o['lower_color']))
    return np.stack([cols[k] for k in _FINEGPR_ID_ATTRS], 1).astype(int)


def plan_finegpr(rng, num_ids, size, knobs, per_id=24, grid=None):
    """FineGPR as released: ``FineGPR/<pid>/PPPP_cCC_wWW_lLL_pPP.jpg``.

    ``cCC`` camera with the release's viewpoint (``c01`` = 90 deg,
    ``c28`` = 0 deg, 10 degree steps), ``wWW`` weather
    (``WEATHERS[WW-1]``), ``lLL`` illumination (``ILLUMINATIONS[LL-1]``,
    the toy's own seven lights), ``pPP`` background (``PERSON_SCENES[PP-1]``);
    each code drives the rendering, so an attribute search (AOST) sees real
    effects. As in the release each identity has ONE background (the nine
    spread evenly over identities) and its images are cells of the
    36 viewpoints x 7 weathers x 7 illuminations grid: ``grid`` (dict of
    ``viewpoints`` (c codes), ``weathers``, ``illuminations`` code lists)
    renders that full product per identity (``grid='full'`` = the release's
    1,764 per identity); otherwise ``per_id`` distinct random cells.
    ``id_attributes.csv`` holds the 13 identity-level codes
    (:func:`finegpr_id_attributes`). The ``camid`` of a record is its
    camera code.
    """
    ids, outfits, first = person_world(rng, num_ids, 1, knobs)
    if grid == 'full':
        grid = dict(viewpoints=range(1, 37), weathers=range(1, 8),
                    illuminations=range(1, 8))
    if grid is not None:
        cells = np.array([(c - 1, w - 1, l - 1) for c in grid['viewpoints']
                          for w in grid['weathers']
                          for l in grid['illuminations']], np.int64)
        combos = np.concatenate([cells] * num_ids)
        per_id = len(cells)
    else:
        combos = np.concatenate([
            np.stack(np.unravel_index(rng.choice(36 * 7 * 7, per_id, replace=False),
                                      (36, 7, 7)), 1) for _ in range(num_ids)])
    # one background per identity, the nine spread evenly over identities
    bg_of_id = rng.permutation(np.arange(num_ids) % 9)
    bg = np.repeat(bg_of_id, per_id)
    n = num_ids * per_id
    cams = world.sample_cameras(rng, n, strength=knobs.camera_strength,
                                scenes=bg, illums=combos[:, 2],
                                weathers=combos[:, 1])
    plan = _person_plan(size, cams, ids, outfits)
    bank_cams = world.sample_cameras(np.random.default_rng(0), 9, scenes=np.arange(9))
    plan.bank = world.build_bank(bank_cams, size[0], size[1], 'person',
                                 knobs.camera_strength)
    for i in range(n):
        r = i // per_id
        c, w, l = (int(x) + 1 for x in combos[i])
        p = int(bg[i]) + 1
        nm = f'{r + 1:04d}/{r + 1:04d}_c{c:02d}_w{w:02d}_l{l:02d}_p{p:02d}.jpg'
        plan.add(f'{FINEGPR_DIR}/{nm}', r, i, r + 1, c, 'train',
                 outfit_row=first[r],
                 extra=dict(finegpr=dict(viewpoint=c, weather=w, illumination=l,
                                         background=p)))
    codes = finegpr_id_attributes(ids, outfits, first)
    plan.files['id_attributes.csv'] = _lines(
        [','.join(('pid',) + _FINEGPR_ID_ATTRS)]
        + [','.join(str(x) for x in (r + 1, *codes[r])) for r in range(num_ids)])
    plan.finalize(rng, knobs, bank_rows=bg)
    plan.jitter['angle'][:] = (finegpr_viewpoint(combos[:, 0] + 1)
                               + rng.normal(0, 3, n)) % 360
    return plan


# ------------------------------------------------------------------ vehicles
def _vehicle_plan(rng, num_ids, size, knobs, n_cam, **cam_kw):
    cams = world.sample_cameras(rng, n_cam, kind='vehicle',
                                strength=knobs.camera_strength, **cam_kw)
    veh = vehicle.sample_vehicles(rng, num_ids, knobs.vehicle_group_size)
    # shuffle so look-alike groups spread over train and test
    perm = rng.permutation(num_ids)
    veh = {k: v[perm] for k, v in veh.items()}
    plan = Plan('vehicle', size)
    plan.cams, plan.ids = cams, veh
    return plan


def _tracks_consistent(plan, track_of):
    """Images of one track share the viewpoint and facing of its first image."""
    j = plan.jitter
    first = {}
    for i, t in enumerate(track_of):
        if t is None:
            continue
        f = first.setdefault(t, i)
        j['view'][i] = j['view'][f]
        j['facing'][i] = j['facing'][f]


def _veri_xml(items, root='TrainingImages'):
    rows = [f'<?xml version="1.0" encoding="gb2312"?>\n<{root} Version="1.0">\n'
            f'<Items number="{len(items)}">\n']
    rows += [f'<Item {" ".join(f"{k}={chr(34)}{v}{chr(34)}" for k, v in it)} />\n'
             for it in items]
    rows.append(f'</Items>\n</{root}>\n')
    return ''.join(rows)


# VeRi's list_color.txt / list_type.txt numbering
VERI_COLORS = ['yellow', 'orange', 'green', 'gray', 'red', 'blue', 'white',
               'golden', 'brown', 'black']
VERI_TYPES = ['sedan', 'suv', 'van', 'hatchback', 'mpv', 'pickup', 'bus',
              'truck', 'estate']


def _veri_color_id(name):
    return VERI_COLORS.index('gray' if name == 'silver' else name) + 1


def plan_veri776(rng, num_ids, size, knobs):
    """VeRi-776: ``image_{train,query,test}/0001_c001_00016450_0.jpg``.

    Side files ``name_{train,query,test}.txt`` (one name per line),
    ``test_track.txt`` (one line per test track: the track key, which is its
    first image name, then the track's image names, space separated with a
    trailing space), ``train_label.xml``/``test_label.xml`` (gb2312 header,
    ``imageName vehicleID cameraID colorID typeID``) with
    ``list_color.txt``/``list_type.txt``. As in the release, every query
    image is also in ``image_test/``; the same-camera junk rule removes it.
    """
    n_cam = 20
    plan = _vehicle_plan(rng, num_ids, size, knobs, n_cam)
    vids = benchmark_ids(rng, num_ids, 776)
    train, test = split_ids(rng, num_ids, [0.75, 0.25])
    names = {'name_train.txt': [], 'name_query.txt': [], 'name_test.txt': []}
    tracks, track_of, labels = [], [], {'train': [], 'test': []}
    for split, rows in (('train', train), ('test', test)):
        for r in rows:
            vid = int(vids[r])
            for c in np.sort(rng.choice(n_cam, int(rng.integers(2, 5)), replace=False)):
                frame = int(rng.integers(1, 90000000))
                track = []
                for j in range(int(rng.integers(2, 5))):
                    frame += int(rng.integers(5, 40))
                    nm = f'{vid:04d}_c{c + 1:03d}_{frame:08d}_{j % 2}.jpg'
                    track.append(nm)
                    vt = VEHICLE_TYPES[int(plan.ids['vtype'][r])]
                    col = VEHICLE_COLOR_NAMES[int(plan.ids['color'][r])]
                    item = (('imageName', nm), ('vehicleID', f'{vid:04d}'),
                            ('cameraID', f'c{c + 1:03d}'),
                            ('colorID', _veri_color_id(col)),
                            ('typeID', VERI_TYPES.index(vt) + 1))
                    if split == 'train':
                        paths, sp = [f'image_train/{nm}'], 'train'
                        names['name_train.txt'].append(nm)
                        labels['train'].append(item)
                        plan.add(paths, r, c, vid, c + 1, sp)
                        track_of.append(len(tracks))
                        continue
                    names['name_test.txt'].append(nm)
                    labels['test'].append(item)
                    plan.add([f'image_test/{nm}'], r, c, vid, c + 1, 'gallery')
                    track_of.append(len(tracks))
                    if j == 0:
                        # the query is a copy of a test image (same pixels)
                        names['name_query.txt'].append(nm)
                        plan.records[-1]['paths'].append(f'image_query/{nm}')
                tracks.append((split, track))
    plan.files = {k: _lines(sorted(v)) for k, v in names.items()}
    plan.files['test_track.txt'] = ''.join(
        f'{t[0]} ' + ' '.join(t) + ' \n' for sp, t in tracks if sp == 'test')
    plan.files['train_label.xml'] = _veri_xml(labels['train'])
    plan.files['test_label.xml'] = _veri_xml(labels['test'], 'TestImages')
    plan.files['list_color.txt'] = _lines(f'{i + 1} {c}' for i, c in enumerate(VERI_COLORS))
    plan.files['list_type.txt'] = _lines(f'{i + 1} {t}' for i, t in enumerate(VERI_TYPES))
    plan.finalize(rng, knobs)
    _tracks_consistent(plan, track_of)
    return plan


def plan_vehicleid(rng, num_ids, size, knobs):
    """VehicleID: ``image/<7-digit id>.jpg`` and ``train_test_split/``.

    ``train_list.txt`` and ``test_list_{800,1600,2400}.txt`` hold
    ``image vid`` lines (image name without extension). The test lists keep
    their official names but are scaled down: 2400 = all test vehicles,
    1600 = the first two thirds, 800 = the first third (nested, as the
    official lists grow by adding vehicles). Views are front or rear only.
    """
    plan = _vehicle_plan(rng, num_ids, size, knobs, 8)
    train, test = split_ids(rng, num_ids, [0.5, 0.5])
    vids = np.arange(1, num_ids + 1)
    img_id = 0
    lists = {'train': [], 'test': []}
    test_groups = {}
    for split, rows in (('train', train), ('test', test)):
        for r in rows:
            vid = int(vids[r])
            for _ in range(int(rng.integers(4, 9))):
                img_id += int(rng.integers(1, 30))
                nm = f'{img_id:07d}'
                c = int(rng.integers(8))
                plan.add(f'image/{nm}.jpg', r, c, vid, c + 1,
                         'train' if split == 'train' else 'test')
                lists[split].append(f'{nm} {vid}')
                if split == 'test':
                    test_groups.setdefault(vid, []).append(f'{nm} {vid}')
    tv = sorted(test_groups)
    n = len(tv)
    plan.files = {'train_test_split/train_list.txt': _lines(lists['train'])}
    for name, frac in (('800', 1 / 3), ('1600', 2 / 3), ('2400', 1.0)):
        keep = tv[:max(1, int(round(frac * n)))]
        plan.files[f'train_test_split/test_list_{name}.txt'] = _lines(
            line for v in keep for line in test_groups[v])
    plan.finalize(rng, knobs)
    plan.jitter['view'][:] = rng.integers(0, 2, len(plan))   # front / rear
    return plan


def plan_cityflow_v2(rng, num_ids, size, knobs):
    """CityFlowV2-ReID (AI City 2021 track 2).

    ``image_{train,query,test}/NNNNNN.jpg`` (numbered per folder),
    ``train_label.xml`` (gb2312 header; ``Item imageName vehicleID
    cameraID``), ``name_query.txt``, ``name_test.txt``, ``train_track.txt``
    and ``test_track.txt`` (one track per line, image names separated by
    spaces). Test labels are not public: they exist only in the annotation
    side folder. 46 cameras c001-c046.
    """
    n_cam = 46
    plan = _vehicle_plan(rng, num_ids, size, knobs, n_cam)
    train, test = split_ids(rng, num_ids, [0.57, 0.43])
    vids = np.arange(1, num_ids + 1)
    counter = {'train': 0, 'query': 0, 'test': 0}
    items, tracks, track_of = [], {'train': [], 'test': []}, []
    names = {'query': [], 'test': []}
    for split, rows in (('train', train), ('test', test)):
        for r in rows:
            vid = int(vids[r])
            cs = np.sort(rng.choice(n_cam, int(rng.integers(2, 5)), replace=False))
            qcam = int(rng.choice(cs))
            for c in cs:
                track = []
                for j in range(int(rng.integers(2, 6))):
                    if split == 'test' and c == qcam and j == 0:
                        folder, sp = 'query', 'query'
                    else:
                        folder = 'train' if split == 'train' else 'test'
                        sp = 'train' if split == 'train' else 'gallery'
                    counter[folder] += 1
                    nm = f'{counter[folder]:06d}.jpg'
                    plan.add(f'image_{folder}/{nm}', r, c, vid, c + 1, sp)
                    track_of.append((split, vid, int(c)))
                    if folder == 'train':
                        items.append((('imageName', nm), ('vehicleID', f'{vid:04d}'),
                                      ('cameraID', f'c{c + 1:03d}')))
                    if folder == 'query':
                        names['query'].append(nm)
                    else:
                        track.append(nm)
                    if folder == 'test':
                        names['test'].append(nm)
                tracks['train' if split == 'train' else 'test'].append(track)
    plan.files = {
        'train_label.xml': _veri_xml(items),
        'name_query.txt': _lines(names['query']),
        'name_test.txt': _lines(names['test']),
        'train_track.txt': _lines(' '.join(t) for t in tracks['train'] if t),
        'test_track.txt': _lines(' '.join(t) for t in tracks['test'] if t),
    }
    plan.finalize(rng, knobs)
    _tracks_consistent(plan, track_of)
    return plan


def plan_vehiclex(rng, num_ids, size, knobs):
    """VehicleX as released for AI City 2020 (``AIC20_ReID_Simulation``).

    ``image_train/NNNNNN.jpg`` and ``train_label.xml`` (gb2312 header;
    ``Item imageName vehicleID cameraID colorID typeID orientation``, the
    orientation the vehicle's yaw in degrees, 0 = seen from the front; the
    release adds lighting and camera-pose attributes, not written here).
    Training images only (a synthetic source): 6-10 images per vehicle over
    2-4 of 20 cameras, every viewpoint and facing drawn per image. Colour and
    type ids use VeRi's numbering (``list_color.txt`` / ``list_type.txt``).
    """
    n_cam = 20
    plan = _vehicle_plan(rng, num_ids, size, knobs, n_cam)
    rows = []
    for r in range(num_ids):
        cs = np.sort(rng.choice(n_cam, int(rng.integers(2, 5)), replace=False))
        for _ in range(int(rng.integers(6, 11))):
            c = int(rng.choice(cs))
            nm = f'{len(rows) + 1:06d}.jpg'
            plan.add(f'image_train/{nm}', r, c, r + 1, c + 1, 'train')
            rows.append((nm, r, c))
    plan.finalize(rng, knobs)
    j = plan.jitter
    j['view'][:] = rng.integers(0, 4, len(plan))
    angle = vehicle.view_angle(j['view'], j['facing'])
    items = []
    for (nm, r, c), a in zip(rows, angle):
        vt = VEHICLE_TYPES[int(plan.ids['vtype'][r])]
        col = VEHICLE_COLOR_NAMES[int(plan.ids['color'][r])]
        items.append((('imageName', nm), ('vehicleID', f'{r + 1:04d}'),
                      ('cameraID', f'c{c + 1:03d}'),
                      ('colorID', _veri_color_id(col)),
                      ('typeID', VERI_TYPES.index(vt) + 1),
                      ('orientation', f'{float(a):.1f}')))
    plan.files = {
        'train_label.xml': _veri_xml(items),
        'list_color.txt': _lines(f'{i + 1} {c}' for i, c in enumerate(VERI_COLORS)),
        'list_type.txt': _lines(f'{i + 1} {t}' for i, t in enumerate(VERI_TYPES)),
    }
    return plan


#: kind -> (plan builder, 'person'|'vehicle', default size, default ids)
LAYOUTS = {
    'market1501': (plan_market1501, 'person', (128, 64), 50),
    'msmt17': (plan_msmt17, 'person', (128, 64), 50),
    'prcc': (plan_prcc, 'person', (128, 64), 40),
    'ltcc': (plan_ltcc, 'person', (128, 64), 40),
    'vc_clothes': (plan_vc_clothes, 'person', (128, 64), 40),
    'sysu_mm01': (plan_sysu_mm01, 'person', (128, 64), 50),
    'llcm': (plan_llcm, 'person', (128, 64), 40),
    'finegpr': (plan_finegpr, 'person', (128, 64), 30),
    'veri776': (plan_veri776, 'vehicle', (128, 128), 50),
    'vehicleid': (plan_vehicleid, 'vehicle', (128, 128), 50),
    'cityflow_v2': (plan_cityflow_v2, 'vehicle', (128, 128), 50),
    'vehiclex': (plan_vehiclex, 'vehicle', (128, 128), 50),
}
