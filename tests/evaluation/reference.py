"""Slow, obviously-correct references for the ranking protocols.

Each loops over queries, sorts the full row with a stable argsort and applies
the protocol's rule literally, following the public evaluation scripts
(torchreid ``eval_market1501``/``eval_cuhk03``, Simple-CCReID
``evaluate_with_clothes``, AGW ``eval_sysu``, LLCM ``eval_llcm``).
"""
import random

import numpy as np


def _pad(curve, max_rank):
    out = np.empty(max_rank)
    n = min(max_rank, len(curve))
    out[:n] = curve[:n]
    out[n:] = curve[-1] if len(curve) else 0
    return out


def ref_eval(dist, q_pids, g_pids, junk_fn, max_rank=50, dedup=False):
    """``junk_fn(q) -> bool mask over the gallery`` of items to drop."""
    cmcs, aps, inps = [], [], []
    for q in range(dist.shape[0]):
        order = np.argsort(dist[q], kind='stable')
        keep = ~junk_fn(q)[order]
        hits = (g_pids[order] == q_pids[q])[keep].astype(int)
        if dedup:
            labels = g_pids[order][keep]
            seen, uniq = set(), []
            for lab in labels:
                if lab not in seen:
                    seen.add(lab)
                    uniq.append(lab)
            dedup_cmc = (np.array(uniq) == q_pids[q]).astype(int).cumsum()
        if not hits.any():
            continue
        cum = hits.cumsum()
        last = np.nonzero(hits)[0].max()
        inps.append(cum[last] / (last + 1.0))
        ap = 0.0
        for i in range(len(hits)):
            if hits[i]:
                ap += cum[i] / (i + 1.0)
        aps.append(ap / hits.sum())
        curve = dedup_cmc if dedup else np.minimum(cum, 1)
        cmcs.append(_pad(curve.astype(float), max_rank))
    return np.mean(cmcs, 0), float(np.mean(aps)), float(np.mean(inps))


def market_junk(q_pids, g_pids, q_camids, g_camids):
    return lambda q: (g_pids == q_pids[q]) & (g_camids == q_camids[q])


def clothes_junk(q_pids, g_pids, q_camids, g_camids, q_clo, g_clo, mode):
    def fn(q):
        same_pid = g_pids == q_pids[q]
        junk = same_pid & (g_camids == q_camids[q])
        if mode == 'cc':
            junk = junk | (same_pid & (g_clo == q_clo[q]))
        else:
            junk = junk | (same_pid & (g_clo != q_clo[q]))
        return junk
    return fn


def ref_cuhk03_sg(dist, q_pids, g_pids, q_camids, g_camids, max_rank=50,
                  num_repeats=10, seed=0):
    """torchreid eval_cuhk03 with the sampling documented in reidkit."""
    rng = np.random.default_rng(seed)
    cmcs, aps = [], []
    for q in range(dist.shape[0]):
        junk = (g_pids == q_pids[q]) & (g_camids == q_camids[q])
        kept = [g for g in range(dist.shape[1]) if not junk[g]]
        kept_sorted = sorted(kept, key=lambda g: (dist[q, g], g))
        hits = np.array([g_pids[g] == q_pids[q] for g in kept_sorted], int)
        if not hits.any():
            continue
        groups = {}
        for g in kept:  # gallery-index order inside each pid
            groups.setdefault(g_pids[g], []).append(g)
        curve = np.zeros(max_rank)
        for _ in range(num_repeats):
            u = rng.random(len(groups))
            chosen = set()
            for n, pid in enumerate(sorted(groups)):
                members = groups[pid]
                chosen.add(members[int(np.floor(u[n] * len(members)))])
            sampled = [g for g in kept_sorted if g in chosen]
            cum = np.minimum(np.cumsum([g_pids[g] == q_pids[q] for g in sampled]), 1)
            curve += _pad(cum.astype(float), max_rank) / num_repeats
        cmcs.append(curve)
        cum = hits.cumsum()
        aps.append(sum(cum[i] / (i + 1.0) for i in range(len(hits)) if hits[i])
                   / hits.sum())
    return np.mean(cmcs, 0), float(np.mean(aps))


def ref_gallery_choice(g_pids, g_camids, cams, seed, g_paths=None):
    """AGW process_gallery_sysu: random.seed(trial); for id in sorted ids, for
    cam in cameras: random.choice(sorted(files))."""
    random.seed(seed)
    chosen = []
    for pid in sorted(set(g_pids.tolist())):
        for cam in sorted(set(g_camids.tolist())):
            if cams is not None and cam not in cams:
                continue
            members = [i for i in range(len(g_pids))
                       if g_pids[i] == pid and g_camids[i] == cam]
            if not members:
                continue
            if g_paths is not None:
                members = sorted(members, key=lambda i: g_paths[i])
            chosen.append(random.choice(members))
    return sorted(chosen)


def ref_vehicleid(dist, pids, num_repeats, seed, max_rank):
    """VehicleID repeats with the draws documented in reidkit: per repeat
    ``u = rng.random(n_vehicles)``, member ``floor(u * size)`` in index order
    is the gallery, the rest are queries; a plain loop per repeat."""
    draw = np.random.default_rng(seed)
    n = len(pids)
    groups = {p: [i for i in range(n) if pids[i] == p] for p in sorted(set(pids))}
    out = []
    for _ in range(num_repeats):
        u = draw.random(len(groups))
        gal = sorted(m[int(np.floor(u[k] * len(m)))]
                     for k, m in enumerate(groups.values()))
        qry = [i for i in range(n) if i not in gal]
        d = dist[np.ix_(qry, gal)]
        out.append(ref_eval(d, pids[qry], pids[gal],
                            lambda q: np.zeros(len(gal), bool), max_rank=max_rank))
    return (np.mean([o[0] for o in out], 0), float(np.mean([o[1] for o in out])),
            float(np.mean([o[2] for o in out])))


# --------------------------------------------------------------------------
# Simple-CCReID (CAL): tools/eval_metrics.py and test.py, transcribed
# --------------------------------------------------------------------------
def cal_compute_ap_cmc(index, good_index, junk_index):
    ap = 0.0
    cmc = np.zeros(len(index))
    index = index[np.isin(index, junk_index, invert=True)]
    rows_good = np.argwhere(np.isin(index, good_index)).flatten()
    cmc[rows_good[0]:] = 1.0
    for i in range(len(good_index)):
        ap += (1.0 / len(good_index)) * ((i + 1.0) / (rows_good[i] + 1))
    return ap, cmc


def cal_evaluate(distmat, q_pids, g_pids, q_camids, g_camids,
                 q_clothids=None, g_clothids=None, mode=None):
    """CAL ``evaluate`` (mode None) and ``evaluate_with_clothes`` ('CC' /
    'SC'): returns (CMC over the whole gallery, mAP). Stable argsort."""
    index = np.argsort(distmat, axis=1, kind='stable')
    num_no_gt, cmc_sum, ap_sum = 0, np.zeros(len(g_pids)), 0.0
    for i in range(distmat.shape[0]):
        query_index = np.argwhere(g_pids == q_pids[i])
        camera_index = np.argwhere(g_camids == q_camids[i])
        good = np.setdiff1d(query_index, camera_index, assume_unique=True)
        junk = np.intersect1d(query_index, camera_index)
        if mode is not None:
            cloth_index = np.argwhere(g_clothids == q_clothids[i])
            if mode == 'CC':
                good = np.setdiff1d(good, cloth_index, assume_unique=True)
                junk = np.union1d(junk, np.intersect1d(query_index, cloth_index))
            else:
                good = np.intersect1d(good, cloth_index)
                junk = np.union1d(junk, np.setdiff1d(query_index, cloth_index))
        if good.size == 0:
            num_no_gt += 1
            continue
        ap, cmc = cal_compute_ap_cmc(index[i], good, junk)
        cmc_sum += cmc
        ap_sum += ap
    valid = distmat.shape[0] - num_no_gt
    return cmc_sum / valid, ap_sum / valid


def cal_video_features(frame_feats, frame_tracks):
    """CAL ``extract_vid_feature`` with one frame per clip: the mean of a
    video's clip features, L2-normalised, one row per video in video order;
    returns (features, first frame index of each video)."""
    videos, firsts = [], []
    for t in sorted(set(frame_tracks.tolist())):
        rows = [i for i in range(len(frame_tracks)) if frame_tracks[i] == t]
        mean = frame_feats[rows].mean(0)
        videos.append(mean / np.linalg.norm(mean))
        firsts.append(rows[0])
    return np.stack(videos), np.array(firsts)


def cal_video_test(qf_frames, q_lab, gf_frames, g_lab):
    """CAL ``test`` for a video dataset: pooled tracklets, cosine
    ``distmat = -qf @ gf.T``, then general / SC / CC. Labels are dicts of
    frame arrays (pid, camid, clothes_id, track_id)."""
    qf, qi = cal_video_features(qf_frames, q_lab['track_id'])
    gf, gi = cal_video_features(gf_frames, g_lab['track_id'])
    distmat = -qf @ gf.T
    args = (distmat, q_lab['pid'][qi], g_lab['pid'][gi], q_lab['camid'][qi],
            g_lab['camid'][gi])
    clothes = (q_lab['clothes_id'][qi], g_lab['clothes_id'][gi])
    return {'general': cal_evaluate(*args),
            'sc': cal_evaluate(*args, *clothes, mode='SC'),
            'cc': cal_evaluate(*args, *clothes, mode='CC')}


def cal_prcc_single_shot_galleries(g_pids, g_paths, num=10, seed=3):
    """CAL ``PRCC._process_dir_test``'s ``gallery_idx``: ``random.seed(3)``,
    then for each of 10 trials and each pid, ``random.choice`` of the pid's
    gallery indices (pids ascending, images in path order: a sorted glob)."""
    order = sorted(range(len(g_pids)), key=lambda i: (g_pids[i], g_paths[i]))
    pid2imgidx = {}
    for idx in order:
        pid2imgidx.setdefault(g_pids[idx], []).append(idx)
    random.seed(seed)
    return [[random.choice(pid2imgidx[pid]) for pid in pid2imgidx]
            for _ in range(num)]


# --------------------------------------------------------------------------
# ZYK100/LLCM: DEEN/eval_metrics.py eval_llcm and DEEN/test.py, transcribed
# --------------------------------------------------------------------------
def llcm_eval(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=20):
    """``eval_llcm``: CMC on distinct identities, AP / INP on the kept list."""
    indices = np.argsort(distmat, axis=1, kind='stable')
    pred_label = g_pids[indices]
    matches = (g_pids[indices] == q_pids[:, None]).astype(np.int32)
    new_all_cmc, all_ap, all_inp, num_valid = [], [], [], 0.0
    for q in range(distmat.shape[0]):
        order = indices[q]
        keep = ~((g_pids[order] == q_pids[q]) & (g_camids[order] == q_camids[q]))
        new_cmc = pred_label[q][keep]
        new_index = np.unique(new_cmc, return_index=True)[1]
        new_cmc = np.array([new_cmc[i] for i in sorted(new_index)])
        new_all_cmc.append((new_cmc == q_pids[q]).astype(np.int32).cumsum()[:max_rank])
        orig_cmc = matches[q][keep]
        if not np.any(orig_cmc):
            continue
        cmc = orig_cmc.cumsum()
        last = np.max(np.where(orig_cmc == 1))
        all_inp.append(cmc[last] / (last + 1.0))
        num_valid += 1.0
        tmp = np.asarray([x / (i + 1.0) for i, x in enumerate(orig_cmc.cumsum())])
        all_ap.append((tmp * orig_cmc).sum() / orig_cmc.sum())
    new_all_cmc = np.asarray(new_all_cmc).astype(np.float32).sum(0) / num_valid
    return new_all_cmc, np.mean(all_ap), np.mean(all_inp)


def llcm_script(images, feats, test_mode, trials=10):
    """DEEN/test.py for LLCM. ``images``: list of (path, pid, cam, modality)
    with paths 'test_vis/camC/PPPP/name' (modality 0) or 'test_nir/...' (1);
    ``feats``: one feature per image (the same network branch for both
    modalities). ``test_mode = [gallery mode, query mode]`` with mode 1 =
    visible and 2 = infrared: [1, 2] "IR to VIS", [2, 1] "VIS to IR".
    Returns the 10-trial means (cmc, mAP, mINP)."""
    def files(mode):  # process_query_llcm: every file, sorted id, camera, name
        top = 'test_vis' if mode == 1 else 'test_nir'
        cams = range(1, 10) if mode == 1 else (1, 2, 4, 5, 6, 7, 8, 9)
        ids = sorted({im[1] for im in images})
        out = []
        for pid in ids:
            for cam in cams:
                folder = [i for i, im in enumerate(images)
                          if im[0].startswith(f'{top}/cam{cam}/{pid:04d}/')]
                out.append(sorted(folder, key=lambda i: images[i][0]))
        return out

    def labels(idx):
        return (np.array([images[i][1] for i in idx]),
                np.array([images[i][2] for i in idx]))

    query_idx = [i for folder in files(test_mode[1]) for i in folder]
    q_label, q_cam = labels(query_idx)
    query_feat = feats[query_idx]
    sums = None
    gallery_folders = files(test_mode[0])  # the listing is the same each trial
    for trial in range(trials):
        random.seed(trial)  # process_gallery_llcm
        gall_idx = [random.choice(folder) for folder in gallery_folders
                    if folder]
        g_label, g_cam = labels(gall_idx)
        gall_feat = feats[gall_idx]
        if test_mode == [1, 2]:
            distmat = query_feat @ gall_feat.T
            res = llcm_eval(-distmat, q_label, g_label, q_cam, g_cam)
        else:
            distmat = gall_feat @ query_feat.T
            res = llcm_eval(-distmat, g_label, q_label, g_cam, q_cam)
        sums = list(res) if sums is None else [a + b for a, b in zip(sums, res)]
    return [s / trials for s in sums]
