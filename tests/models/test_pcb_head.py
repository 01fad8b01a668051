"""PCB (Sun et al. 2018): stripes, per-part reducers and classifiers, summed losses."""
import pytest
import torch
import torch.nn.functional as F

from reidkit.registry import HEADS, MODELS


def test_part_pool_is_the_mean_of_each_stripe():
    x = torch.randn(2, 5, 12, 4)
    out = MODELS.build(dict(type='PartPool', num_parts=6))(x)
    ref = torch.stack([x[:, :, 2 * p:2 * p + 2].mean((2, 3))
                       for p in range(6)], dim=2)
    torch.testing.assert_close(out, ref)
    with pytest.raises(ValueError, match='rows for 6 parts'):
        MODELS.build(dict(type='PartPool', num_parts=6))(torch.randn(1, 5, 4, 4))


def test_pcb_head_loss_is_the_sum_of_part_cross_entropies():
    torch.manual_seed(0)
    head = HEADS.build(dict(type='PCBHead', in_channels=8, num_classes=5,
                            num_parts=3, reduce_dim=4, dropout=0.0,
                            losses=[dict(type='CrossEntropyLoss')]))
    head.train()
    g = torch.randn(6, 8, 3)
    pid = torch.tensor([0, 1, 2, 3, 4, 0])
    losses = head.loss(g, {'pid': pid})
    # independent computation, part by part, with the same BN statistics
    ref = 0.0
    for p in range(3):
        lin, bn, _ = head.reducers[p]
        z = lin(g[:, :, p])
        h = torch.relu((z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False)
                                                   + bn.eps) * bn.weight
                       + bn.bias)
        ref = ref + F.cross_entropy(head.classifiers[p](h), pid)
    torch.testing.assert_close(losses['loss_ce'], ref)
    assert set(losses) == {'loss_ce', 'acc_id'}
    # every part's classifier gets a gradient
    losses['loss_ce'].backward()
    assert all(c.fc.weight.grad.abs().sum() > 0 for c in head.classifiers)


def test_pcb_test_features_g_and_h():
    head = HEADS.build(dict(type='PCBHead', in_channels=8, num_classes=5,
                            num_parts=3, reduce_dim=4)).eval()
    g = torch.randn(2, 8, 3)
    feat = head.predict(g)
    torch.testing.assert_close(feat, torch.cat([g[:, :, p] for p in range(3)],
                                               1))
    head.test_feat = 'h'
    h = head.predict(g)
    assert h.shape == (2, 12)
    torch.testing.assert_close(h[:, 4:8], head.reducers[1](g[:, :, 1]))


def test_pcb_reid_model_trains_a_step():
    model = MODELS.build(dict(
        type='ReIDModel',
        backbone=dict(type='TimmBackbone', model_name='resnet18',
                      last_stride=1),
        neck=dict(type='PartPool', num_parts=6),
        head=dict(type='PCBHead', in_channels=512, num_classes=4,
                  num_parts=6, reduce_dim=16,
                  losses=[dict(type='CrossEntropyLoss')])))
    x = torch.randn(4, 3, 96, 32)   # 6 x 2 map at stride 16
    losses = model(x, [dict(pid=i % 4) for i in range(4)], mode='loss')
    assert losses['loss_ce'] > 0
    model.eval()
    out = model(x, mode='tensor')
    assert out.shape == (4, 6 * 512)
