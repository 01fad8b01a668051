import pytest
import timm
import torch
import torch.nn.functional as F
from torch import nn

from reidkit.models.backbones import (IBN, MixStyle, MixStyleBackbone,
                                      MMPretrainBackbone, ResNetIBN,
                                      TimmBackbone, TwoStreamResNet,
                                      resize_pos_embed)


def _save(tmp_path, sd, name='ckpt.pth'):
    path = str(tmp_path / name)
    torch.save(sd, path)
    return path


# ------------------------------------------------------------------- IBN-a
def test_ibn_is_half_instance_half_batch_norm():
    ibn = IBN(8).train()
    x = torch.randn(4, 8, 5, 5)
    ref_in = F.instance_norm(x[:, :4], weight=torch.ones(4),
                             bias=torch.zeros(4))
    ref_bn = F.batch_norm(x[:, 4:], None, None, training=True)
    torch.testing.assert_close(ibn(x), torch.cat([ref_in, ref_bn], 1),
                               rtol=1e-4, atol=1e-4)


def test_ibn_a_placement_resnet50():
    net = ResNetIBN(depth=50)
    assert isinstance(net.bn1, nn.BatchNorm2d)  # stem stays BN
    for i in range(1, 5):
        for block in getattr(net, f'layer{i}'):
            if i < 4:
                assert isinstance(block.bn1, IBN)
                assert block.bn1.half == block.conv1.out_channels // 2
            else:
                assert isinstance(block.bn1, nn.BatchNorm2d)
            assert isinstance(block.bn2, nn.BatchNorm2d)
            assert isinstance(block.bn3, nn.BatchNorm2d)


def test_plain_resnet50_equals_timm_and_loads_torchvision_keys(tmp_path):
    ref = timm.create_model('resnet50', pretrained=False, num_classes=0)
    sd = {'module.' + k: v for k, v in ref.state_dict().items()}
    path = _save(tmp_path, {'state_dict': sd})
    net = ResNetIBN(depth=50, ibn=(None,) * 4, last_stride=2,
                    pretrained=path).eval()
    ref.eval()
    x = torch.randn(1, 3, 64, 32)
    torch.testing.assert_close(net(x)[-1], ref.forward_features(x))
    ours = {k: v.shape for k, v in net.state_dict().items()}
    theirs = {k: v.shape for k, v in ref.state_dict().items()
              if not k.startswith('fc.')}
    assert ours == theirs


def test_resnext101_ibn_a_matches_resnext_definition():
    net = ResNetIBN(depth=101, groups=32, width_per_group=4,
                    out_indices=(2, 3))
    ref = timm.create_model('resnext101_32x4d', pretrained=False,
                            num_classes=0)
    n_ours = sum(p.numel() for p in net.parameters())
    n_ref = sum(p.numel() for p in ref.parameters())
    assert n_ours == n_ref  # IN affine + BN affine == BN affine
    assert net.layer1[0].conv2.groups == 32
    assert net.layer1[0].conv1.out_channels == 128
    assert isinstance(net.layer3[22].bn1, IBN)
    assert net.out_channels == [1024, 2048]


def test_ibn_release_style_checkpoint_roundtrip(tmp_path):
    src = ResNetIBN(depth=50)
    with torch.no_grad():
        for p in src.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    assert 'layer1.0.bn1.IN.weight' in src.state_dict()
    path = _save(tmp_path, dict(src.state_dict(),
                                **{'fc.weight': torch.zeros(10, 2048)}))
    dst = ResNetIBN(depth=50, pretrained=path).eval()
    src.eval()
    x = torch.randn(1, 3, 64, 32)
    torch.testing.assert_close(dst(x)[-1], src(x)[-1])


def test_missing_checkpoint_and_wrong_architecture(tmp_path):
    with pytest.raises(FileNotFoundError, match='pretrained=None'):
        ResNetIBN(depth=50, pretrained=str(tmp_path / 'nope.pth'))
    path = _save(tmp_path, {'foo.weight': torch.zeros(3)})
    with pytest.raises(ValueError, match='no key matches'):
        ResNetIBN(depth=50, pretrained=path)


# -------------------------------------------------------------------- timm
def test_timm_last_stride_and_taps():
    x = torch.randn(2, 3, 64, 32)
    assert TimmBackbone('resnet18')(x)[-1].shape == (2, 512, 2, 1)
    net = TimmBackbone('resnet18', last_stride=1, out_indices=(3, -1))
    outs = net(x)
    assert [o.shape for o in outs] == [(2, 256, 4, 2), (2, 512, 4, 2)]
    assert net.out_channels == [256, 512]
    with pytest.raises(ValueError, match='last_stride'):
        TimmBackbone('densenet121', last_stride=1)


def test_timm_swin_is_nchw_with_stage_tap():
    net = TimmBackbone('swinv2_tiny_window8_256', img_size=(64, 64),
                       out_indices=(2, -1))
    outs = net(torch.randn(1, 3, 64, 64))
    assert outs[0].shape == (1, 384, 4, 4)
    assert outs[1].shape == (1, 768, 2, 2)


def test_vit_position_embedding_resized_for_256x128(tmp_path):
    src = timm.create_model('vit_tiny_patch16_224', pretrained=False,
                            num_classes=0)
    path = _save(tmp_path, src.state_dict())
    net = TimmBackbone('vit_tiny_patch16_224', img_size=(256, 128),
                       pretrained=path)
    pe = net.model.pos_embed
    assert pe.shape == (1, 1 + 16 * 8, 192)
    grid = src.pos_embed[:, 1:].reshape(1, 14, 14, 192).permute(0, 3, 1, 2)
    ref = F.interpolate(grid, size=(16, 8), mode='bicubic',
                        align_corners=False).permute(0, 2, 3, 1)
    torch.testing.assert_close(pe[:, 1:], ref.reshape(1, 128, 192))
    torch.testing.assert_close(pe[:, :1], src.pos_embed[:, :1])
    torch.testing.assert_close(
        resize_pos_embed(src.pos_embed, (16, 8)), pe.detach())
    assert net(torch.randn(1, 3, 256, 128))[-1].shape == (1, 192)


def test_mmpretrain_backbone_loads_torchvision_style(tmp_path):
    ref = timm.create_model('resnet18', pretrained=False, num_classes=0)
    path = _save(tmp_path, ref.state_dict())
    net = MMPretrainBackbone(dict(type='ResNet', depth=18, out_indices=(3,)),
                             pretrained=path).eval()
    ref.eval()
    x = torch.randn(1, 3, 64, 32)
    torch.testing.assert_close(net(x)[-1], ref.forward_features(x))
    stride1 = MMPretrainBackbone(dict(type='ResNet', depth=18,
                                      strides=(1, 2, 2, 1)))
    assert stride1(x)[-1].shape == (1, 512, 4, 2)


# ---------------------------------------------------------------- MixStyle
def test_mixstyle_matches_formula():
    ms = MixStyle(p=1.0, alpha=0.1).train()
    x = torch.randn(4, 3, 5, 5)
    torch.manual_seed(1)
    out = ms(x)
    torch.manual_seed(1)
    torch.rand(1)  # the p coin
    mu = x.mean((2, 3), keepdim=True)
    sig = (x.var((2, 3), keepdim=True) + 1e-6).sqrt()
    lam = torch.distributions.Beta(0.1, 0.1).sample((4, 1, 1, 1))
    perm = torch.randperm(4)
    ref = (x - mu) / sig * (lam * sig + (1 - lam) * sig[perm]) \
        + lam * mu + (1 - lam) * mu[perm]
    torch.testing.assert_close(out, ref)
    ms.eval()
    assert torch.equal(ms(x), x)
    assert torch.equal(MixStyle(p=0.0).train()(x), x)


def test_mixstyle_domain_modes():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 4)
    dom = torch.tensor([0, 0, 0, 1, 1, 1])
    cross = MixStyle(p=1.0, mix='crossdomain').train()
    partner, _ = cross._partner(6, dom, x.device)
    assert (dom[partner] != dom).all()
    prior = MixStyle(p=1.0, mix='domain_prior', target_domain=0).train()
    out = prior(x, dom)
    assert torch.equal(out[:3], x[:3])  # real samples keep their style
    assert not torch.allclose(out[3:], x[3:])
    partner, mask = prior._partner(6, dom, x.device)
    assert (dom[partner[mask]] == 0).all()
    with pytest.raises(ValueError, match='domain'):
        prior(x)


def test_mixstyle_backbone_only_in_training():
    net = MixStyleBackbone(dict(type='TimmBackbone', model_name='resnet18'),
                           after=('model.layer1', 'model.layer2'), p=1.0)
    x = torch.randn(4, 3, 64, 32)
    net.eval()
    torch.testing.assert_close(net(x)[-1], net.backbone(x)[-1])
    net.train()
    torch.manual_seed(0)
    a = net(x, domain=torch.tensor([0, 0, 1, 1]))[-1]
    net.mixstyle.p = 0.0
    b = net(x)[-1]
    assert not torch.allclose(a, b)
    with pytest.raises(KeyError, match='layer9'):
        MixStyleBackbone(dict(type='ResNetIBN', depth=50), after=('layer9',))


# -------------------------------------------------------------- two-stream
def test_two_stream_routes_by_modality():
    net = TwoStreamResNet(non_local=(0, 2, 3, 0)).eval()
    assert len(net.non_local) == 5
    x = torch.randn(4, 3, 32, 16)
    mod = torch.tensor([0, 1, 1, 0])
    mixed = net(x, modality=mod)[-1]
    vis = net(x[mod == 0], modality=torch.zeros(2, dtype=torch.long))[-1]
    ir = net(x[mod == 1], modality=torch.ones(2, dtype=torch.long))[-1]
    torch.testing.assert_close(mixed[mod == 0], vis)
    torch.testing.assert_close(mixed[mod == 1], ir)
    with torch.no_grad():
        net.infrared_stem[0].weight.add_(1.0)
    torch.testing.assert_close(net(x, modality=mod)[-1][mod == 0], vis)
    assert not torch.allclose(net(x, modality=mod)[-1][mod == 1], ir)


def test_two_stream_loads_torchvision_stem_into_both(tmp_path):
    ref = timm.create_model('resnet50', pretrained=False, num_classes=0)
    path = _save(tmp_path, ref.state_dict())
    net = TwoStreamResNet(non_local=(0, 0, 0, 0), last_stride=2,
                          pretrained=path).eval()
    ref.eval()
    x = torch.randn(1, 3, 64, 32)
    torch.testing.assert_close(net.visible_stem[0].weight, ref.conv1.weight)
    torch.testing.assert_close(net.infrared_stem[0].weight, ref.conv1.weight)
    torch.testing.assert_close(net(x, modality=torch.tensor([1]))[-1],
                               ref.forward_features(x))
