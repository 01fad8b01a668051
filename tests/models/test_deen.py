"""DEEN (Zhang and Wang, CVPR 2023): backbone blocks, losses and head, against
hand-worked cases and transcriptions of the LLCM authors' code."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reidkit.models.backbones import (CNLBlock, DEEModule, DEENResNet,
                                      PNLBlock, TwoStreamResNet)
from reidkit.models.heads import DEENHead
from reidkit.models.losses import (CenterPairMiningLoss,
                                   ExpansionOrthogonalLoss)
from reidkit.registry import MODELS


def _randomise_bn(module):
    """Non-zero W-branch BN so the non-local blocks are not the identity."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.5, 0.5)
    return module.eval()


# ---------------------------------------------------------------- MFA blocks
def test_cnl_is_channel_attention_of_the_authors():
    torch.manual_seed(1)
    blk = _randomise_bn(CNLBlock(6, 4, downsample=True))
    x_h, x_l = torch.randn(2, 6, 3, 2), torch.randn(2, 4, 6, 4)
    with torch.no_grad():
        g, th, ph = blk.g(x_l), blk.theta(x_h), blk.phi(x_l)
    ref = torch.empty(2, 4, 6, 4)
    for b in range(2):
        # A[i, j] = <theta_i, phi_j> over positions, divided by C_l
        A = torch.tensor([[float((th[b, i] * ph[b, j]).sum()) / 4
                           for j in range(4)] for i in range(4)])
        for i in range(4):
            ref[b, i] = sum(A[i, j] * g[b, j] for j in range(4))
    expected = blk.W(ref) + x_h
    torch.testing.assert_close(blk(x_h, x_l), expected, rtol=1e-4, atol=1e-5)


def test_pnl_matches_the_authors_view_permute_sequence():
    """Transcription of ``PNL.forward`` in ZYK100/LLCM DEEN/model.py."""
    torch.manual_seed(2)
    blk = _randomise_bn(PNLBlock(6, 4))
    x_h, x_l = torch.randn(2, 6, 3, 2), torch.randn(2, 4, 6, 4)
    B, low = 2, 4
    g_x = blk.g(x_l).view(B, low, -1).permute(0, 2, 1)
    theta_x = blk.theta(x_h).view(B, low, -1).permute(0, 2, 1)
    phi_x = blk.phi(x_l).view(B, low, -1)
    energy = torch.matmul(theta_x, phi_x)
    y = torch.matmul(energy / energy.size(-1), g_x)
    y = y.permute(0, 2, 1).contiguous().view(B, low // 2, 3, 2)
    torch.testing.assert_close(blk(x_h, x_l), blk.W(y) + x_h)


def test_new_mfa_blocks_start_as_identity():
    blk = CNLBlock(6, 4).eval()
    x_h = torch.randn(1, 6, 4, 2)
    torch.testing.assert_close(blk(x_h, torch.randn(1, 4, 4, 2)), x_h)


# ------------------------------------------------------------------- DEE
def test_dee_hand_worked_expansion():
    dee = DEEModule(4).eval()
    with torch.no_grad():
        for branch, scale in zip(dee.branches, (1.0, -1.0)):
            for d, conv in enumerate(branch['dilated']):
                conv.weight.zero_()
                conv.weight[0, d, 1, 1] = scale  # centre tap: a 1x1 conv
            branch['fc'].weight.copy_(
                torch.tensor([1., 2., 0., -1.]).view(4, 1, 1, 1))
            branch['fc'].bias.copy_(torch.tensor([0., 0., 1., 0.]))
    x = torch.zeros(1, 4, 1, 2)
    x[0, :, 0, 0] = torch.tensor([3., 0., 3., 9.])   # mean(x0..x2) = 2
    x[0, :, 0, 1] = torch.tensor([-3., -3., 0., 1.])  # mean = -2
    out = dee(x)
    assert out.shape == (3, 4, 1, 2)
    torch.testing.assert_close(out[0], x[0])
    # branch 1: r = relu(+mean) = (2, 0); e = (r, 2r, 1, -r)
    torch.testing.assert_close(out[1, :, 0, :], torch.tensor(
        [[2., 0.], [4., 0.], [1., 1.], [-2., 0.]]))
    # branch 2: r = relu(-mean) = (0, 2)
    torch.testing.assert_close(out[2, :, 0, :], torch.tensor(
        [[0., 2.], [0., 4.], [1., 1.], [0., -2.]]))


# -------------------------------------------------------------- backbone
@pytest.fixture(scope='module')
def deen():
    torch.manual_seed(0)
    return DEENResNet().eval()


def test_deen_backbone_shapes_and_routing(deen):
    x = torch.randn(3, 3, 32, 16)
    mod = torch.tensor([0, 1, 0])
    out = deen(x, modality=mod)
    assert len(out) == 1 and out[0].shape == (9, 2048, 2, 1)
    ir_only = deen(x[1:2], modality=torch.tensor([1]))[0]
    torch.testing.assert_close(out[0][1::3], ir_only, rtol=1e-4, atol=1e-5)


def test_deen_original_third_is_the_plain_two_stream_net_at_init(deen):
    """MFA blocks start as the identity (zero BN) and BN is per image in
    eval mode, so the original embedding is TwoStreamResNet's output."""
    plain = TwoStreamResNet(non_local=(0, 0, 0, 0)).eval()
    plain.load_state_dict({k: v for k, v in deen.state_dict().items()
                           if not k.startswith(('mfa.', 'dee.'))})
    x, mod = torch.randn(2, 3, 32, 16), torch.tensor([1, 0])
    torch.testing.assert_close(deen(x, modality=mod)[0][:2],
                               plain(x, modality=mod)[0],
                               rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ losses
def _cpm_batch():
    """2 identities x (visible, infrared), 1-D features (hand-worked)."""
    pids = torch.tensor([0, 0, 1, 1])
    mod = torch.tensor([0, 1, 0, 1])
    orig = torch.tensor([[0.], [1.], [1.6], [2.6]])
    exp1 = torch.tensor([[0.55], [0.8], [1.1], [2.05]])
    return pids, mod, orig, exp1


def test_cpm_hand_worked():
    pids, mod, orig, exp1 = _cpm_batch()
    # centres c1=(0,1.6) c2=(1,2.6) c3=(.55,1.1) c4=(.8,2.05); m=0.2
    # d23=(.45,1.5) d13=(.55,.5) n3=.55 n1=1.6 ; d14=(.8,.45) d24=(.2,.55)
    # n4=1.25 n2=1.6
    # L3 = mean(.1, 1.2) + (mean(.1, 1.15) + mean(0, .1)) / 2 = 0.9875
    # L4 = mean(.8, .1) + (0 + 0) / 2 = 0.45 ;  CPM = (L3 + L4) / 2
    loss = CenterPairMiningLoss(num_branches=2, loss_weight=1.0)
    value = loss(torch.cat([orig, exp1]), pids.repeat(2),
                 modality=mod.repeat(2))
    torch.testing.assert_close(value, torch.tensor(0.71875))
    # three branches: both expansions count; default weight 0.8 (lambda_1)
    three = CenterPairMiningLoss()(torch.cat([orig, exp1, exp1]),
                                   pids.repeat(3), modality=mod.repeat(3))
    torch.testing.assert_close(three, torch.tensor(0.8 * 2 * 0.71875))


def test_cpm_groups_by_label_not_by_position():
    pids, mod, orig, exp1 = _cpm_batch()
    perm = torch.tensor([3, 0, 2, 1])
    loss = CenterPairMiningLoss(num_branches=2, loss_weight=1.0)
    value = loss(torch.cat([orig[perm], exp1[perm]]), pids[perm].repeat(2),
                 modality=mod[perm].repeat(2))
    torch.testing.assert_close(value, torch.tensor(0.71875))


def test_cpm_stops_gradient_through_the_own_modality_distance():
    pids, mod, orig, exp1 = _cpm_batch()
    orig = orig.clone().requires_grad_()
    loss = CenterPairMiningLoss(num_branches=2, loss_weight=1.0)
    loss(torch.cat([orig, exp1]), pids.repeat(2),
         modality=mod.repeat(2)).backward()
    # L = (L3 + L4) / 2; d13 and d24 are detached.
    # visible originals c1: -1 from each active d14 hinge (mean: -1/2), and
    # n1 = |c1_1 - c1_0| in L3's third term (pid 1 active, weight 1/2 * 1/2)
    # infrared originals c2: +1 through d23 in the first hinge (1/2 each),
    # the second (1/2 * 1/2 each) and the third (pid 1 only, 1/2 * 1/2)
    g = orig.grad.flatten()
    torch.testing.assert_close(g, torch.tensor([(0.25 - 0.5) / 2,
                                                (0.5 + 0.25) / 2,
                                                (-0.25 - 0.5) / 2,
                                                (0.5 + 0.25 + 0.25) / 2]))


def test_orthogonal_loss_hand_worked():
    f1 = torch.tensor([[1., 2.], [0., 1.]])
    f2 = torch.tensor([[3., 0.], [2., 2.]])
    feats = torch.cat([torch.zeros(2, 2), f1, f2])
    value = ExpansionOrthogonalLoss(loss_weight=1.0)(feats, torch.zeros(6))
    torch.testing.assert_close(value, torch.tensor(5. / 6.))
    torch.testing.assert_close(ExpansionOrthogonalLoss()(feats, torch.zeros(6)),
                               torch.tensor(0.05 / 6.))


# -------------------------------------------------------------------- head
def test_deen_head_losses_match_an_independent_computation():
    torch.manual_seed(3)
    head = DEENHead(8, 3)
    x = torch.randn(12, 8)
    labels = dict(pid=torch.tensor([0, 0, 2, 2]),
                  modality=torch.tensor([0, 1, 0, 1]))
    out = head.loss(x, labels)
    pid3 = labels['pid'].repeat(3)
    bn = F.batch_norm(x, None, None, head.bnneck.weight, head.bnneck.bias,
                      training=True, eps=head.bnneck.eps)
    ce = F.cross_entropy(bn @ head.classifier.fc.weight.t(), pid3)
    torch.testing.assert_close(out['loss_ce'], ce)
    from reidkit.models.losses import TripletLoss
    torch.testing.assert_close(out['loss_triplet'],
                               TripletLoss(margin=0.3)(x, pid3))
    torch.testing.assert_close(out['loss_cpm'], CenterPairMiningLoss()(
        x, pid3, modality=labels['modality'].repeat(3)))
    torch.testing.assert_close(out['loss_ort'],
                               0.01 * (x[4:8] * x[8:]).sum() / 12)


def test_deen_head_test_feature_sums_six_cosines():
    torch.manual_seed(4)
    head = DEENHead(8, 3)
    head.train()
    head.loss(torch.randn(12, 8), dict(pid=torch.tensor([0, 0, 1, 1]),
                                       modality=torch.tensor([0, 1, 0, 1])))
    head.eval()
    q, g = torch.randn(3, 8), torch.randn(3, 8)   # one image, 3 embeddings
    fq, fg = head.predict(q), head.predict(g)
    assert fq.shape == (1, 48)
    bn = head.bnneck
    expected = sum(F.cosine_similarity(a[k:k + 1], b[k:k + 1]).sum()
                   for a, b in ((q, g), (bn(q), bn(g))) for k in range(3))
    torch.testing.assert_close((fq * fg).sum(), expected)
    head.test_feat = 'post_bn'
    torch.testing.assert_close(head.predict(q), F.normalize(bn(q)[:1]))


def test_deen_reid_model_trains_and_predicts_one_row_per_image():
    model = MODELS.build(dict(
        type='ReIDModel',
        backbone=dict(type='DEENResNet'),
        neck=dict(type='GlobalAvgPool'),
        head=dict(type='DEENHead', in_channels=2048, num_classes=2)))
    x = torch.randn(4, 3, 32, 16)
    samples = [dict(pid=p, modality=m, camid=0)
               for p, m in ((0, 0), (0, 1), (1, 0), (1, 1))]
    losses = model(x, samples, mode='loss')
    assert {'loss_ce', 'loss_triplet', 'loss_cpm', 'loss_ort'} <= set(losses)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert model.backbone.dee.branches[0]['fc'].weight.grad is not None
    model.eval()
    preds = model(x, samples, mode='predict')
    assert len(preds) == 4 and preds[0]['feat'].shape == (6 * 2048,)
