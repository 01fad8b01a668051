import math

import pytest
import torch
import torch.nn.functional as F

from reidkit.models.heads import (AuxClassifierHead, BNNeckHead,
                                  ClothesClassifierHead, CosineClassifier,
                                  MultiHeadAttentionHead)
from reidkit.models.necks import (GeMPool, GlobalAvgPool, GlobalMaxPool,
                                  MaxAvgPool)
from reidkit.registry import HEADS


# ------------------------------------------------------------------- necks
def test_pooling_necks_match_definitions():
    x = torch.rand(2, 6, 4, 3)
    torch.testing.assert_close(GlobalAvgPool()(x), x.mean((2, 3)))
    torch.testing.assert_close(GlobalMaxPool()(x), x.amax((2, 3)))
    cat = MaxAvgPool(in_channels=6)
    assert cat.out_channels == 12
    torch.testing.assert_close(cat(x), torch.cat([x.amax((2, 3)),
                                                  x.mean((2, 3))], 1))
    gem = GeMPool(p=3.0, learnable=False)
    torch.testing.assert_close(gem(x), x.pow(3).mean((2, 3)).pow(1 / 3))
    assert not any(p.requires_grad for p in gem.parameters())
    learn = GeMPool(p=3.0)
    learn(x).sum().backward()
    assert learn.p.grad is not None
    # tuple input uses the last map; (B, C) passes through (ViT token)
    torch.testing.assert_close(GlobalAvgPool()((x * 0, x)), x.mean((2, 3)))
    v = torch.randn(2, 6)
    assert GlobalAvgPool()(v) is v


def test_neck_embedding_layer():
    neck = GlobalAvgPool(in_channels=6, embed_dim=4, embed_act=True)
    out = neck(torch.rand(3, 6, 2, 2))
    assert out.shape == (3, 4) and neck.out_channels == 4
    with pytest.raises(ValueError, match='in_channels'):
        GlobalAvgPool(embed_dim=4)


# ------------------------------------------------------------ classifiers
def test_cosine_margins_match_formulas():
    torch.manual_seed(0)
    clf = CosineClassifier(8, 5, scale=30.0, margin=0.35,
                           margin_type='cosface')
    x, y = torch.randn(4, 8), torch.tensor([0, 1, 4, 2])
    cos = F.normalize(x) @ F.normalize(clf.weight).t()
    ref = 30 * (cos - 0.35 * F.one_hot(y, 5))
    torch.testing.assert_close(clf(x, y), ref)
    torch.testing.assert_close(clf(x), 30 * cos)  # no margin in test

    clf.margin_type, clf.margin = 'arcface', 0.5
    theta = torch.acos(cos.clamp(-1, 1))
    target = torch.where(cos > math.cos(math.pi - 0.5),
                         torch.cos(theta + 0.5), cos - 0.5 * math.sin(0.5))
    ref = 30 * torch.where(F.one_hot(y, 5).bool(), target, cos)
    torch.testing.assert_close(clf(x, y), ref, rtol=1e-4, atol=1e-4)

    clf.margin_type, clf.margin = 'circle', 0.25
    ap = torch.relu(1.25 - cos)
    an = torch.relu(cos + 0.25)
    ref = 30 * torch.where(F.one_hot(y, 5).bool(), ap * (cos - 0.75),
                           an * (cos - 0.25))
    torch.testing.assert_close(clf(x, y), ref)
    with pytest.raises(ValueError, match='margin_type'):
        CosineClassifier(4, 2, margin_type='sphere')


# ------------------------------------------------------------------ heads
def test_bnneck_head_routes_features():
    head = HEADS.build(dict(
        type='BNNeckHead', in_channels=16, num_classes=4,
        losses=[dict(type='CrossEntropyLoss', label_smoothing=0.1),
                dict(type='TripletLoss', margin=0.3)]))
    assert not head.bnneck.bias.requires_grad  # frozen shift
    x = torch.randn(8, 16)
    labels = {'pid': torch.arange(8) % 4}
    out = head.loss(x, labels)
    assert set(out) == {'loss_ce', 'loss_triplet', 'acc_id'}
    assert not out['acc_id'].requires_grad
    # triplet on the pre-BN feature (bag of tricks)
    ref = head.losses[1](x, labels['pid'])
    torch.testing.assert_close(out['loss_triplet'], ref)
    head.eval()
    torch.testing.assert_close(head.predict(x), head.bnneck(x))


def test_bnneck_head_with_margin_classifier():
    head = HEADS.build(dict(
        type='BNNeckHead', in_channels=8, num_classes=3,
        classifier=dict(type='CosineClassifier', margin_type='cosface',
                        scale=30.0, margin=0.35),
        losses=[dict(type='CrossEntropyLoss')]))
    x, y = torch.randn(6, 8), torch.tensor([0, 1, 2, 0, 1, 2])
    out = head.forward_train(x, {'pid': y})
    cos = F.normalize(out['post_bn']) @ F.normalize(
        head.classifier.weight).t()
    torch.testing.assert_close(out['logits'],
                               30 * (cos - 0.35 * F.one_hot(y, 3)))
    torch.testing.assert_close(
        head.loss(x, {'pid': y})['loss_ce'],
        F.cross_entropy(30 * (cos - 0.35 * F.one_hot(y, 3)), y))


def test_head_errors_are_clear():
    with pytest.raises(ValueError, match='num_classes is None'):
        BNNeckHead(16, None)
    head = BNNeckHead(16, 4)
    with pytest.raises(ValueError, match=r'\(B, 16\)'):
        head.loss(torch.randn(2, 8), {'pid': torch.tensor([0, 1])})


def test_duplicate_loss_names_are_made_unique():
    head = BNNeckHead(8, 3, losses=[dict(type='CrossEntropyLoss'),
                                    dict(type='CrossEntropyLoss',
                                         label_smoothing=0.1)])
    assert [l.loss_name for l in head.losses] == ['loss_ce', 'loss_ce_1']


def test_multi_head_attention_head_definition():
    head = MultiHeadAttentionHead(in_channels=12, num_classes=3,
                                  feat_channels=6, num_groups=4,
                                  gdn_channels=5, metric_feat='post_bn')
    x = torch.randn(5, 12)
    inst = head.instance_fc(x)
    p = torch.softmax(head.gdn(inst), dim=1)
    torch.testing.assert_close(p.sum(1), torch.ones(5))
    ref = inst + sum(p[:, k:k + 1] * head.group_fcs[k](x) for k in range(4))
    torch.testing.assert_close(head.embed(x), ref)
    out = head.forward_train(x, {'pid': torch.tensor([0, 1, 2, 0, 1])})
    assert out['logits'].shape == (5, 3) and out['features'].shape == (5, 6)
    torch.testing.assert_close(out['features'], out['post_bn'])


def test_aux_head_uses_intermediate_output_and_prefix():
    aux = AuxClassifierHead(in_index=0, head=dict(
        type='BNNeckHead', in_channels=8, num_classes=3,
        losses=[dict(type='CrossEntropyLoss'), dict(type='CircleLoss')]))
    feats = (torch.randn(6, 8, 4, 4), torch.randn(6, 16, 2, 2))
    out = aux.loss(feats, {'pid': torch.tensor([0, 0, 1, 1, 2, 2])})
    assert set(out) == {'loss_aux_ce', 'loss_aux_circle', 'acc_aux_id'}
    bad = AuxClassifierHead(in_index=5, head=dict(
        type='BNNeckHead', in_channels=8, num_classes=3))
    with pytest.raises(IndexError, match='out_indices'):
        bad.loss(feats, {'pid': torch.tensor([0] * 6)})


def test_clothes_head_gradients_are_disjoint():
    head = ClothesClassifierHead(8, num_clothes=4, num_pids=2,
                                 adv_loss=dict(type='ClothesAdversarialLoss',
                                               start_epoch=0)).train()
    f = torch.randn(4, 8, requires_grad=True)
    labels = {'pid': torch.tensor([0, 0, 1, 1]),
              'clothes_id': torch.tensor([0, 1, 2, 3])}
    clo = head.loss_clothes(f, labels)
    clo['loss_clothes'].backward()
    assert f.grad is None and head.classifier.weight.grad is not None
    # the table learnt the identity -> clothes pairs
    assert head.pid2clothes.tolist() == [[True, True, False, False],
                                         [False, False, True, True]]
    head.classifier.weight.grad = None
    adv = head.loss_adversarial(f, labels)['loss_cal']
    adv.backward()
    assert f.grad is not None and head.classifier.weight.grad is None
    # CE on s*cos with detached features
    cos = F.normalize(f.detach()) @ F.normalize(head.classifier.weight).t()
    torch.testing.assert_close(clo['loss_clothes'],
                               F.cross_entropy(16 * cos,
                                               labels['clothes_id']))
