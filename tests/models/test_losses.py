"""Each loss against an independent computation: pytorch-metric-learning
where it has the loss, otherwise a literal transcription of the paper's
formula (values and gradients, float64)."""
import math

import pytest
import torch
import torch.nn.functional as F
from pytorch_metric_learning import distances, losses, miners, reducers

from reidkit.models.losses import (CircleLoss, ClothesAdversarialLoss,
                                   CrossEntropyLoss, SupConLoss, TripletLoss,
                                   WeightedRegularizationTripletLoss)
from reidkit.registry import LOSSES, MODELS

LABELS = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])


def _inputs(dim=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(len(LABELS), dim, generator=g, dtype=torch.float64)


def _compare(ours, reference, x, labels=LABELS, **extra):
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    a = ours(x1, labels, **extra)
    b = reference(x2, labels)
    assert a.shape == ()
    torch.testing.assert_close(a, b.to(a.dtype), rtol=1e-6, atol=1e-8)
    a.backward()
    b.backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-8)
    assert x1.grad.abs().sum() > 0


# ----------------------------------------------------------- cross-entropy
def _ce_ls_transcription(eps):
    def ref(logits, y):  # eq. 4-5 of the strong vehicle baseline
        n = logits.shape[1]
        q = torch.full_like(logits, eps / n)
        q[torch.arange(len(y)), y] = 1 - (n - 1) / n * eps
        logp = torch.log(torch.exp(logits) / torch.exp(logits).sum(1,
                                                                   True))
        return (-q * logp).sum(1).mean()
    return ref


@pytest.mark.parametrize('eps', [0.0, 0.1])
def test_cross_entropy_matches_formula(eps):
    _compare(CrossEntropyLoss(label_smoothing=eps), _ce_ls_transcription(eps),
             _inputs(dim=5))


def test_cross_entropy_bad_label_is_clear():
    with pytest.raises(ValueError, match='num_classes'):
        CrossEntropyLoss()(torch.randn(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r'labels of shape \(2,\)'):
        CrossEntropyLoss()(torch.randn(2, 3), torch.tensor([0, 1, 2]))


# ----------------------------------------------------------------- triplet
def test_triplet_batch_hard_matches_pml():
    d = distances.LpDistance(normalize_embeddings=False)
    miner = miners.BatchHardMiner(distance=d)
    pml = losses.TripletMarginLoss(margin=0.3, distance=d,
                                   reducer=reducers.MeanReducer())
    _compare(TripletLoss(margin=0.3), lambda x, y: pml(x, y, miner(x, y)),
             _inputs())


def test_triplet_cosine_batch_hard_matches_pml():
    # PML's CosineSimilarity is a similarity; TripletMarginLoss uses
    # margin - (s_ap - s_an) which equals our (1-s_ap) - (1-s_an) + margin
    d = distances.CosineSimilarity()
    miner = miners.BatchHardMiner(distance=d)
    pml = losses.TripletMarginLoss(margin=0.2, distance=d,
                                   reducer=reducers.MeanReducer())
    _compare(TripletLoss(margin=0.2, metric='cosine'),
             lambda x, y: pml(x, y, miner(x, y)), _inputs())


def _dist(x):
    return torch.cdist(x, x)


def test_triplet_soft_margin_matches_transcription():
    def ref(x, y):  # Hermans et al. eq. 5 with softplus
        d = _dist(x)
        out = []
        for a in range(len(y)):
            pos = [d[a, p] for p in range(len(y)) if y[p] == y[a] and p != a]
            neg = [d[a, n] for n in range(len(y)) if y[n] != y[a]]
            out.append(torch.log1p(torch.exp(max(pos) - min(neg))))
        return torch.stack(out).mean()
    _compare(TripletLoss(margin=None), ref, _inputs())


def test_triplet_batch_all_matches_transcription():
    def ref(x, y):
        d = _dist(x)
        terms = []
        for a in range(len(y)):
            for p in range(len(y)):
                for n in range(len(y)):
                    if p != a and y[p] == y[a] and y[n] != y[a]:
                        terms.append(torch.relu(d[a, p] - d[a, n] + 0.3))
        return torch.stack(terms).mean()
    _compare(TripletLoss(margin=0.3, hard_mining=False), ref, _inputs(dim=4))


def test_weighted_regularization_triplet_matches_transcription():
    def ref(x, y):  # AGW eq. 9
        d = _dist(x)
        out = []
        for i in range(len(y)):
            P = [j for j in range(len(y)) if y[j] == y[i] and j != i]
            N = [j for j in range(len(y)) if y[j] != y[i]]
            wp = torch.stack([torch.exp(d[i, j]) for j in P])
            wn = torch.stack([torch.exp(-d[i, j]) for j in N])
            sp = (wp / wp.sum() * torch.stack([d[i, j] for j in P])).sum()
            sn = (wn / wn.sum() * torch.stack([d[i, j] for j in N])).sum()
            out.append(torch.log(1 + torch.exp(sp - sn)))
        return torch.stack(out).mean()
    _compare(WeightedRegularizationTripletLoss(), ref, _inputs())


# ------------------------------------------------------------------ circle
@pytest.mark.parametrize('m,gamma', [(0.25, 64), (0.4, 256)])
def test_circle_matches_pml(m, gamma):
    pml = losses.CircleLoss(m=m, gamma=gamma, reducer=reducers.MeanReducer())
    _compare(CircleLoss(m=m, gamma=gamma), pml, _inputs())


# ------------------------------------------------------------------ supcon
def test_supcon_matches_pml_and_formula():
    pml = losses.SupConLoss(temperature=0.07, reducer=reducers.MeanReducer())
    _compare(SupConLoss(temperature=0.07), pml, _inputs())

    def ref(x, y, t=0.07):  # Khosla et al. eq. 2, averaged over anchors
        z = F.normalize(x, dim=1)
        out = []
        for i in range(len(y)):
            A = [a for a in range(len(y)) if a != i]
            P = [p for p in A if y[p] == y[i]]
            den = sum(torch.exp(z[i] @ z[a] / t) for a in A)
            out.append(-sum(torch.log(torch.exp(z[i] @ z[p] / t) / den)
                            for p in P) / len(P))
        return torch.stack(out).mean()
    _compare(SupConLoss(temperature=0.07), ref, _inputs(seed=1))


# --------------------------------------------------------------------- CAL
def test_clothes_adversarial_matches_paper_formula():
    # 4 identities x 2 clothes each; clothes c belongs to pid c // 2
    clothes = torch.tensor([0, 1, 0, 2, 3, 3, 4, 5, 4, 6, 7, 7])
    pids = clothes // 2
    pos_mask = (pids.unsqueeze(1) == torch.arange(8).unsqueeze(0) // 2)
    cos = torch.tanh(_inputs(dim=8))
    s, eps = 16.0, 0.1

    def ref(x, y):  # CAL eq. 6 with the eq. 7 target distribution
        x = s * x
        out = []
        for i in range(len(y)):
            S = [c for c in range(8) if pos_mask[i, c]]
            neg = [c for c in range(8) if not pos_mask[i, c]]
            total = 0
            for c in S:
                q = (1 - eps) * (c == y[i]) + eps / len(S)
                den = torch.exp(x[i, c]) + sum(torch.exp(x[i, n])
                                               for n in neg)
                total = total - q * torch.log(torch.exp(x[i, c]) / den)
            out.append(total)
        return torch.stack(out).mean()
    _compare(ClothesAdversarialLoss(scale=s, epsilon=eps), ref, cos,
             labels=clothes, pos_mask=pos_mask.double())


def test_clothes_adversarial_needs_mask():
    with pytest.raises(ValueError, match='pos_mask'):
        ClothesAdversarialLoss()(torch.randn(2, 3), torch.tensor([0, 1]))


# ----------------------------------------------------------------- general
def test_registry_weight_and_names():
    loss = MODELS.build(dict(type='TripletLoss', margin=0.3, loss_weight=0.5))
    assert LOSSES.get('TripletLoss') is TripletLoss
    x = _inputs()
    torch.testing.assert_close(loss(x, LABELS),
                               0.5 * TripletLoss(margin=0.3)(x, LABELS))
    assert loss.loss_name == 'loss_triplet'
    assert CrossEntropyLoss.input_type == 'logits'
    assert SupConLoss.input_type == 'features'
    with pytest.raises(ValueError, match="start with 'loss'"):
        SupConLoss(loss_name='supcon')


def test_half_precision_inputs_computed_in_fp32():
    x = _inputs().half()
    out = SupConLoss()(x, LABELS)
    assert out.dtype == torch.float32 and math.isfinite(out.item())
