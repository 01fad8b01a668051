"""CAJ (Ye et al., TPAMI 2023): channel exchange, the joint view, and the
adaptive weighted triplet loss, against hand-worked cases and a
transcription of the authors' ``TripletLoss_ADP``."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.dataset import pseudo_collate

from reidkit.datasets.transforms_vi import (CAJ_INFRARED_PROBS,
                                            ReIDChannelExchange,
                                            ReIDJointChannelView,
                                            channel_exchange)
from reidkit.models import JointViewDataPreprocessor
from reidkit.models.losses import (AdaptiveWeightedTripletLoss,
                                   WeightedRegularizationTripletLoss)
from reidkit.registry import TRANSFORMS


# ---------------------------------------------------- the authors' ADP loss
def _authors_adp(inputs, targets, alpha=1, gamma=1, square=1, eps=1e-6):
    """Transcription of TripletLoss_ADP.forward (BorgDiven/DiVE CAJ); the
    authors add ``eps=1e-6`` to the softmax denominators."""
    def softmax_weights(dist, mask):
        max_v = torch.max(dist * mask, dim=1, keepdim=True)[0]
        diff = dist - max_v
        Z = torch.sum(torch.exp(diff) * mask, dim=1, keepdim=True) + eps
        return torch.exp(diff) * mask / Z

    m = inputs.shape[0]
    sq = inputs.pow(2).sum(1, keepdim=True).expand(m, m)
    dist = (sq + sq.t() - 2 * inputs @ inputs.t()).clamp(min=1e-12).sqrt()
    is_pos = targets.expand(m, m).eq(targets.expand(m, m).t()).float()
    is_neg = targets.expand(m, m).ne(targets.expand(m, m).t()).float()
    dist_ap, dist_an = dist * is_pos, dist * is_neg
    fp = torch.sum(dist_ap * softmax_weights(dist_ap * alpha, is_pos), 1)
    cn = torch.sum(dist_an * softmax_weights(-dist_an * alpha, is_neg), 1)
    rank = nn.SoftMarginLoss()
    if square == 0:
        return rank(gamma * (cn - fp), torch.ones_like(fp))
    diff_pow = torch.clamp_max(torch.pow(fp - cn, 2) * gamma, max=88)
    y1 = (fp > cn).float()
    return rank(diff_pow, -(y1 + y1 - 1))


@pytest.mark.parametrize('square', [0, 1])
@pytest.mark.parametrize('alpha,gamma', [(1, 1), (2, 0.5)])
def test_adp_matches_the_authors(square, alpha, gamma):
    torch.manual_seed(0)
    x = torch.randn(12, 6)
    y = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    ours = AdaptiveWeightedTripletLoss(alpha=alpha, gamma=gamma,
                                       square=bool(square))(x, y)
    torch.testing.assert_close(
        ours, _authors_adp(x, y, alpha, gamma, square, eps=0.0))
    # their denominator epsilon moves the loss by well under 0.1 %
    torch.testing.assert_close(ours, _authors_adp(x, y, alpha, gamma, square),
                               rtol=1e-3, atol=0)


def test_adp_hand_worked_square():
    # 1-D points 0, 1 (id 0) and 3, 5 (id 1); anchor excluded from its
    # positives so each anchor has one positive
    x = torch.tensor([[0.], [1.], [3.], [5.]])
    y = torch.tensor([0, 0, 1, 1])
    loss = AdaptiveWeightedTripletLoss(self_positive=False)

    def cn(ds):  # softmin-weighted mean of the negative distances
        w = [math.exp(-d) for d in ds]
        return sum(a * b for a, b in zip(w, ds)) / sum(w)

    terms = []
    for fp, negs in ((1, (3, 5)), (1, (2, 4)), (2, (3, 2)), (2, (5, 4))):
        c = cn(negs)
        s = (fp - c) ** 2
        terms.append(math.log1p(math.exp(s if fp > c else -s)))
    assert loss(x, y).item() == pytest.approx(sum(terms) / 4, rel=1e-5)


def test_adp_without_square_and_scales_is_agw_wrt():
    torch.manual_seed(1)
    x, y = torch.randn(8, 5), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    adp = AdaptiveWeightedTripletLoss(square=False, self_positive=False)
    torch.testing.assert_close(adp(x, y),
                               WeightedRegularizationTripletLoss()(x, y))


# --------------------------------------------------------- channel exchange
def test_channel_exchange_hand_worked():
    img = np.array([[[10, 20, 30], [200, 100, 0]]], np.uint8)   # 1 x 2
    assert channel_exchange(img, 0)[0].tolist() == [[10] * 3, [200] * 3]
    assert channel_exchange(img, 2)[0].tolist() == [[30] * 3, [0] * 3]
    # grey: 0.2989 R + 0.587 G + 0.114 B, rounded
    grey = [round(0.2989 * 10 + 0.587 * 20 + 0.114 * 30),
            round(0.2989 * 200 + 0.587 * 100)]
    assert channel_exchange(img, 3)[0, :, 0].tolist() == grey
    assert channel_exchange(img, 4) is img


def test_channel_exchange_frequencies_and_modality_gate():
    np.random.seed(0)
    t = ReIDChannelExchange(probs=CAJ_INFRARED_PROBS, modality=1)
    img = np.array([[[10, 20, 30]]], np.uint8)
    counts = dict.fromkeys((10, 20, 30, 18, 'keep'), 0)
    for _ in range(4000):
        out = t(dict(img=img, modality=1))['img'][0, 0]
        key = 'keep' if out.tolist() == [10, 20, 30] else int(out[0])
        counts[key] += 1
    freq = [counts[k] / 4000 for k in (10, 20, 30, 18, 'keep')]
    np.testing.assert_allclose(freq, CAJ_INFRARED_PROBS, atol=0.025)
    # visible samples pass unchanged
    assert t(dict(img=img, modality=0))['img'] is img
    with pytest.raises(ValueError, match='summing to 1'):
        ReIDChannelExchange(probs=(1, 1, 0, 0, 0))


# ---------------------------------------------- joint view -> batch rows
def _pipeline():
    return [TRANSFORMS.build(t) for t in (
        dict(type='ReIDJointChannelView', transforms=[
            dict(type='ReIDChannelExchange', probs=(0, 1, 0, 0, 0))]),
        dict(type='PackReIDInputs', meta_keys=('pid', 'camid', 'modality',
                                               'joint_view')))]


def _run(pipeline, results):
    for t in pipeline:
        results = t(results)
    return results


def test_joint_view_adds_a_row_per_visible_image_in_training_only():
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 255, (4, 2, 3), dtype=np.uint8) for _ in range(3)]
    pipe = _pipeline()
    items = [_run(pipe, dict(img=im, pid=p, camid=c, modality=m))
             for im, (p, c, m) in zip(imgs, ((5, 0, 0), (5, 2, 1), (7, 1, 0)))]
    batch = pseudo_collate(items)
    pre = JointViewDataPreprocessor()
    out = pre(batch, training=True)
    assert out['labels']['pid'].tolist() == [5, 5, 7, 5, 7]
    assert out['labels']['modality'].tolist() == [0, 1, 0, 0, 0]
    assert out['labels']['camid'].tolist() == [0, 2, 1, 0, 1]
    assert all('joint_view' not in s for s in out['data_samples'])
    # the extra rows are the G channel of images 0 and 2, normalised
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    for row, src in ((3, 0), (4, 2)):
        g = torch.from_numpy(imgs[src][..., 1]).float()
        torch.testing.assert_close(out['inputs'][row],
                                   (g.expand(3, 4, 2) - mean) / std)
    test = pre(pseudo_collate(items), training=False)
    assert test['inputs'].shape[0] == 3
    assert all('joint_view' not in s for s in test['data_samples'])
