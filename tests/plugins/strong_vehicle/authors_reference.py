"""Transcriptions of the strong vehicle baseline authors' code
(cybercore-co-ltd/track2_aicity_2021), kept as close to the original as a
test reference allows: the same operations in the same order, with
print statements, CUDA placement and file loading removed. Each function
names its source. Used only as the independent side of the tests.
"""
import os
import random

import numpy as np
import torch
import torch.nn.functional as F


# lib/modeling/backbones/mixstyle.py: MixStyle2.forward (training, B even)
def mixstyle2(x, p=0.5, alpha=0.1, eps=1e-6):
    beta = torch.distributions.Beta(alpha, alpha)
    if random.random() > p:
        return x
    B = x.size(0)
    mu = x.mean(dim=[2, 3], keepdim=True)
    var = x.var(dim=[2, 3], keepdim=True)
    sig = (var + eps).sqrt()
    mu, sig = mu.detach(), sig.detach()
    x_normed = (x - mu) / sig
    lmda = beta.sample((B, 1, 1, 1))
    lmda = lmda.to(x.device)
    perm = torch.arange(B - 1, -1, -1)
    perm_b, perm_a = perm.chunk(2)
    perm_b = perm_b[torch.randperm(B // 2)]
    perm_a = perm_a[torch.randperm(B // 2)]
    perm = torch.cat([perm_b, perm_a], 0)
    mu2, sig2 = mu[perm], sig[perm]
    mu_mix = mu * lmda + mu2 * (1 - lmda)
    sig_mix = sig * lmda + sig2 * (1 - lmda)
    return x_normed * sig_mix + mu_mix


# lib/layers/pooling.py: GeM (freeze_p=True)
def gem(x, p=3.0, eps=1e-6):
    return F.adaptive_avg_pool2d(x.clamp(min=eps).pow(p), (1, 1)).pow(1. / p)


# lib/layers/metric_learning.py: SupConLoss(num_ids, views).forward
def supcon(features, labels, num_ids, views, temperature=0.07,
           base_temperature=0.07):
    features = features.view(num_ids, views, -1)
    labels = labels.view(num_ids, views)[:, 0]
    batch_size = features.shape[0]
    labels = labels.contiguous().view(-1, 1)
    mask = torch.eq(labels, labels.T).float()
    contrast_count = features.shape[1]
    contrast_feature = torch.cat(torch.unbind(features, dim=1), dim=0)
    anchor_feature = contrast_feature
    anchor_count = contrast_count
    anchor_dot_contrast = torch.div(
        torch.matmul(anchor_feature, contrast_feature.T), temperature)
    logits_max, _ = torch.max(anchor_dot_contrast, dim=1, keepdim=True)
    logits = anchor_dot_contrast - logits_max.detach()
    mask = mask.repeat(anchor_count, contrast_count)
    logits_mask = torch.scatter(
        torch.ones_like(mask), 1,
        torch.arange(batch_size * anchor_count).view(-1, 1), 0)
    mask = mask * logits_mask
    exp_logits = torch.exp(logits) * logits_mask
    log_prob = logits - torch.log(exp_logits.sum(1, keepdim=True))
    mean_log_prob_pos = (mask * log_prob).sum(1) / mask.sum(1)
    loss = - (temperature / base_temperature) * mean_log_prob_pos
    return loss.view(anchor_count, batch_size).mean()


# lib/layers/metric_learning.py: CircleLoss.__call__ (the classifier)
def circle_logits(bn_feat, weight, targets, s=64, m=0.35):
    sim_mat = F.linear(F.normalize(bn_feat), F.normalize(weight))
    alpha_p = F.relu(-sim_mat.detach() + 1 + m)
    alpha_n = F.relu(sim_mat.detach() + m)
    delta_p = 1 - m
    delta_n = m
    s_p = s * alpha_p * (sim_mat - delta_p)
    s_n = s * alpha_n * (sim_mat - delta_n)
    one_hot = torch.zeros(sim_mat.size())
    one_hot.scatter_(1, targets.view(-1, 1).long(), 1)
    return one_hot * s_p + (1.0 - one_hot) * s_n


# lib/layers/triplet_loss.py: CrossEntropyLabelSmooth (epsilon 0.1)
def ce_label_smooth(inputs, targets, num_classes, epsilon=0.1):
    log_probs = torch.log_softmax(inputs, dim=1)
    targets = torch.zeros(log_probs.size()).scatter_(
        1, targets.unsqueeze(1), 1)
    targets = (1 - epsilon) * targets + epsilon / num_classes
    return (- targets * log_probs).mean(0).sum()


# lib/layers/build.py: make_loss's loss_func, the MALW part. Returns the ID
# weight after each call (raw losses in, weight used for the *next* call).
def malw_authors(raw_id, raw_metric, interval=500, id_weight=1.0):
    id_hist, metric_hist, weights = [], [], []
    for a, b in zip(raw_id, raw_metric):
        id_hist.append(a)
        metric_hist.append(b)
        if len(id_hist) % interval == 0:
            id_std = np.array(id_hist).std()
            metric_std = np.array(metric_hist).std()
            if id_std > metric_std:
                new_weight = 1 - (id_std - metric_std) / id_std
                id_weight = id_weight * 0.9 + new_weight * 0.1
            id_hist, metric_hist = [], []
        weights.append(id_weight)
    return weights


# lib/utils/post_process.py: re_ranking (torch distance on the CPU; the
# original_dist - 0.1 ori - 0.1 cam line when USE_VOC). ``dtype``: their
# float16 V / Jaccard arrays by default; float32 to check the logic alone.
def re_ranking(probFea, galFea, k1, k2, lambda_value, USE_VOC=False,
               cam_dist=None, ori_dist=None, dtype=np.float16):
    query_num = probFea.size(0)
    all_num = query_num + galFea.size(0)
    feat = torch.cat([probFea, galFea])
    distmat = torch.pow(feat, 2).sum(dim=1, keepdim=True).expand(
        all_num, all_num) + torch.pow(feat, 2).sum(
        dim=1, keepdim=True).expand(all_num, all_num).t()
    distmat = distmat.addmm(feat, feat.t(), beta=1, alpha=-2)
    original_dist = distmat.cpu().numpy()
    if USE_VOC:
        original_dist = original_dist - 0.1 * ori_dist - 0.1 * cam_dist
    gallery_num = original_dist.shape[0]
    original_dist = np.transpose(original_dist / np.max(original_dist,
                                                        axis=0))
    V = np.zeros_like(original_dist).astype(dtype)
    initial_rank = np.argsort(original_dist).astype(np.int32)
    for i in range(all_num):
        forward_k_neigh_index = initial_rank[i, :k1 + 1]
        backward_k_neigh_index = initial_rank[forward_k_neigh_index, :k1 + 1]
        fi = np.where(backward_k_neigh_index == i)[0]
        k_reciprocal_index = forward_k_neigh_index[fi]
        k_reciprocal_expansion_index = k_reciprocal_index
        for j in range(len(k_reciprocal_index)):
            candidate = k_reciprocal_index[j]
            candidate_forward_k_neigh_index = initial_rank[
                candidate, :int(np.around(k1 / 2)) + 1]
            candidate_backward_k_neigh_index = initial_rank[
                candidate_forward_k_neigh_index, :int(np.around(k1 / 2)) + 1]
            fi_candidate = np.where(
                candidate_backward_k_neigh_index == candidate)[0]
            candidate_k_reciprocal_index = candidate_forward_k_neigh_index[
                fi_candidate]
            if len(np.intersect1d(candidate_k_reciprocal_index,
                                  k_reciprocal_index)) > 2 / 3 * len(
                    candidate_k_reciprocal_index):
                k_reciprocal_expansion_index = np.append(
                    k_reciprocal_expansion_index,
                    candidate_k_reciprocal_index)
        k_reciprocal_expansion_index = np.unique(k_reciprocal_expansion_index)
        weight = np.exp(-original_dist[i, k_reciprocal_expansion_index])
        V[i, k_reciprocal_expansion_index] = weight / np.sum(weight)
    original_dist = original_dist[:query_num, ]
    if k2 != 1:
        V_qe = np.zeros_like(V, dtype=dtype)
        for i in range(all_num):
            V_qe[i, :] = np.mean(V[initial_rank[i, :k2], :], axis=0)
        V = V_qe
    invIndex = []
    for i in range(gallery_num):
        invIndex.append(np.where(V[:, i] != 0)[0])
    jaccard_dist = np.zeros_like(original_dist, dtype=dtype)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, gallery_num], dtype=dtype)
        indNonZero = np.where(V[i, :] != 0)[0]
        indImages = [invIndex[ind] for ind in indNonZero]
        for j in range(len(indNonZero)):
            temp_min[0, indImages[j]] = temp_min[0, indImages[j]] + \
                np.minimum(V[i, indNonZero[j]], V[indImages[j], indNonZero[j]])
        jaccard_dist[i] = 1 - temp_min / (2 - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * \
        lambda_value
    return final_dist[:query_num, query_num:]


# lib/utils/post_process.py: comput_distmat (squared Euclidean)
def comput_distmat(qf, gf):
    m, n = qf.shape[0], gf.shape[0]
    distmat = torch.pow(qf, 2).sum(dim=1, keepdim=True).expand(m, n) + \
        torch.pow(gf, 2).sum(dim=1, keepdim=True).expand(n, m).t()
    distmat = distmat.addmm(qf, gf.t(), beta=1, alpha=-2)
    return distmat, torch.argsort(distmat, dim=1)


# lib/utils/post_process.py: track_aug (tracks: lists of image names)
def track_aug(feats, tracks, img_paths):
    lookup = {}
    img_names = [os.path.basename(p) for p in img_paths]
    for i, track in enumerate(tracks):
        for img_name in track:
            lookup[img_name] = i
    average_seq = [[] for _ in range(len(tracks))]
    for idx, img_name in enumerate(img_names):
        if img_name in lookup:
            average_seq[lookup[img_name]].append(idx)
    for seq in average_seq:
        if len(seq) == 0:
            continue
        track_feats = feats[seq, :].clone()
        dist, indices = comput_distmat(track_feats, track_feats)
        weights = 1 / (dist + 0.01)
        feats[seq, :] = F.linear(weights.t(), track_feats.t())
        for i, idx in enumerate(seq):
            weight = weights[i].unsqueeze(dim=1).expand_as(track_feats)
            feats[idx, :] = (weight * track_feats).mean(dim=0)
    return torch.nn.functional.normalize(feats, dim=1, p=2)


# lib/utils/post_process.py: rerank_indice_by_track
def rerank_indice_by_track(indices, img_paths, tracks):
    img_names = [os.path.basename(p) for p in img_paths]
    name_to_trackid = {}
    for i, track in enumerate(tracks):
        for img_name in track:
            name_to_trackid[img_name] = i
    name_to_idx = {img_name: i for i, img_name in enumerate(img_names)}
    for i in range(indices.shape[0]):
        used_track = set()
        indice = indices[i]
        track_indice = []
        for idx in indice:
            track_id = name_to_trackid[img_names[idx]]
            if track_id in used_track:
                continue
            used_track.add(track_id)
            track_indice.append(track_id)
        count = 0
        for track_id in track_indice:
            idxs = [name_to_idx[name] for name in tracks[track_id]
                    if name in name_to_idx]
            indices[i][count:count + len(idxs)] = idxs
            count += len(idxs)
    return indices


# lib/engine/inference.py: the flip test (feats of the image and its mirror)
def flip_feats(model, data):
    feats = model(data)
    feats_flip = model(data.flip(dims=[3]))
    return (feats + feats_flip) / 2


# tools/aicity20/multi_model_ensemble.py: plain mean of saved distances
def ensemble(distmats):
    return sum(distmats) / len(distmats)
