"""The authors' variants of the training parts (MixStyle2, fixed-p GeM,
SupCon on the raw post-BN feature, MALW on raw losses, the circle
classifier) against transcriptions of their code on random data."""
import random
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from reidkit.hooks import MALWHook
from reidkit.models.backbones.mixstyle import MixStyle, MixStyleBackbone
from reidkit.models.heads.classifiers import CosineClassifier
from reidkit.models.losses import CrossEntropyLoss, SupConLoss
from reidkit.models.necks.pooling import GeMPool

from tests.models.test_malw_hook import FakeModel

from . import authors_reference as ref


def test_mixstyle_halves_equals_authors_mixstyle2():
    x = torch.randn(8, 6, 5, 4) * 3 + 1
    for seed in range(4):
        ours = MixStyle(p=1.0, alpha=0.1, mix='halves').train()
        torch.manual_seed(seed)
        out = ours(x)
        # ours draws its p-coin from torch, theirs from `random`: burn the
        # torch draw so both then sample lambda and the permutations alike
        torch.manual_seed(seed)
        torch.rand(1)
        random.seed(seed)
        expected = ref.mixstyle2(x, p=1.0, alpha=0.1)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(out, x, atol=1e-3)  # it did restyle


def test_mixstyle_halves_ignores_domain_labels():
    net = MixStyleBackbone(dict(type='ResNetIBN', depth=50),
                           after=('layer1',), p=1.0, mix='halves').train()
    x = torch.randn(4, 3, 32, 32)
    torch.manual_seed(1)
    with_labels = net(x, domain=torch.tensor([0, 0, 0, 1]))[-1]
    torch.manual_seed(1)
    without = net(x)[-1]
    torch.testing.assert_close(with_labels, without)


def test_gem_fixed_p_equals_authors_gem():
    x = torch.rand(3, 16, 7, 5) * 2
    pool = GeMPool(p=3.0, learnable=False)
    assert not any(True for _ in pool.parameters())  # p is not trained
    torch.testing.assert_close(pool(x), ref.gem(x).flatten(1), rtol=1e-5,
                               atol=1e-6)


def test_supcon_unnormalised_equals_authors_supcon():
    num_ids, views, dim = 4, 8, 32
    labels = torch.tensor([7, 2, 9, 4]).repeat_interleave(views)
    feats = torch.randn(num_ids * views, dim) * 0.2
    ours = SupConLoss(temperature=0.07, normalize=False)(feats, labels)
    theirs = ref.supcon(feats, labels, num_ids, views)
    assert float(ours) == pytest.approx(float(theirs), rel=1e-5)
    # normalising first (Khosla et al.) is a different loss on these inputs
    normed = SupConLoss(temperature=0.07)(feats, labels)
    assert abs(float(normed) - float(theirs)) > 0.1


def test_circle_classifier_equals_authors_circle_head():
    torch.manual_seed(0)
    feat = torch.randn(6, 16)
    labels = torch.tensor([0, 3, 1, 4, 2, 3])
    clf = CosineClassifier(16, 5, scale=64, margin=0.35,
                           margin_type='circle')
    logits = clf(feat, labels)
    expected = ref.circle_logits(feat, clf.weight.detach(), labels)
    torch.testing.assert_close(logits, expected, rtol=1e-5, atol=1e-4)
    # the ID loss of their shipped config: label-smoothed CE on those logits
    ce = CrossEntropyLoss(label_smoothing=0.1)(logits, labels)
    assert float(ce.detach()) == pytest.approx(
        float(ref.ce_label_smooth(expected, labels, 5)), rel=1e-5)


@pytest.mark.parametrize('interval', [2, 5, 7])
def test_malw_authors_variant_equals_authors_make_loss(interval):
    g = torch.Generator().manual_seed(interval)
    n = 40
    raw_id = (6.0 - torch.linspace(0, 3, n)
              + torch.randn(n, generator=g)).tolist()
    raw_metric = (1.0 + 0.2 * torch.randn(n, generator=g)).tolist()
    model = FakeModel()
    hook = MALWHook(interval=interval, momentum=0.9, variant='authors')
    runner = SimpleNamespace(model=model, iter=0,
                             message_hub=MessageHub.get_instance('malw_a'))
    hook.before_train(runner)
    ours = []
    for i, (a, b) in enumerate(zip(raw_id, raw_metric)):
        runner.iter = i
        w = model.loss_weights()  # the train step logs weighted losses
        hook.after_train_iter(runner, i, None, {
            'loss_ce': torch.tensor(w['loss_ce'] * a, dtype=torch.float64),
            'loss_supcon': torch.tensor(w['loss_supcon'] * b,
                                        dtype=torch.float64)})
        ours.append(model.loss_weights()['loss_ce'])
    theirs = ref.malw_authors(raw_id, raw_metric, interval=interval)
    assert len(set(round(w, 9) for w in theirs)) > 2  # the weight moved
    assert ours == pytest.approx(theirs, rel=1e-9)
    # Algorithm 1 of the paper (weighted records, iter % K) differs
    paper = MALWHook(interval=interval, momentum=0.9)
    model2 = FakeModel()
    paper.before_train(SimpleNamespace(model=model2))
    for i, (a, b) in enumerate(zip(raw_id, raw_metric)):
        runner.model, runner.iter = model2, i
        w = model2.loss_weights()
        paper.after_train_iter(runner, i, None, {
            'loss_ce': torch.tensor(w['loss_ce'] * a),
            'loss_supcon': torch.tensor(w['loss_supcon'] * b)})
    assert model2.loss_weights()['loss_ce'] != pytest.approx(theirs[-1])


def test_malw_variant_checked():
    with pytest.raises(ValueError, match='variant'):
        MALWHook(variant='weighted')
