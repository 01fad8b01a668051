"""SPGAN / CycleGAN: losses on hand-worked cases, Runner training, translator."""
import math
import os
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn
from PIL import Image

from plugins.aost.spgan import (GANTranslator, SPGAN, UnpairedImageDataset,
                                contrastive_loss, lsgan_loss)


def test_lsgan_and_contrastive_hand_worked():
    p = torch.tensor([0.5, 1.5])
    assert lsgan_loss(p, True).item() == pytest.approx(0.25)
    assert lsgan_loss(p, False).item() == pytest.approx((0.25 + 2.25) / 2)
    e1 = torch.tensor([[1., 0.], [1., 0.]])
    e2 = torch.tensor([[0., 1.], [0., 1.]])     # d = sqrt(2) for both pairs
    pos = contrastive_loss(e1, e2, torch.tensor([1, 1]))
    neg = contrastive_loss(e1, e2, torch.tensor([0, 0]), margin=2.0)
    assert pos.item() == pytest.approx(2.0)
    assert neg.item() == pytest.approx((2 - math.sqrt(2)) ** 2)
    # a negative pair farther apart than the margin costs nothing
    far = contrastive_loss(e1, -e1, torch.tensor([0, 0]), margin=1.5)
    assert far.item() == 0.0


class _Const(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.full((x.shape[0], 1, 2, 2), self.c) + 0 * self.w


class _Flat(nn.Module):
    def forward(self, x):
        return nn.functional.normalize(x.flatten(1), dim=1)


def test_generator_losses_by_hand():
    torch.manual_seed(0)
    m = SPGAN(generator=dict(ngf=4, n_blocks=1), discriminator=dict(ndf=4),
              siamese=dict(ch=4, dim=8))
    m.G, m.F = nn.Identity(), nn.Identity()
    m.discriminator = nn.ModuleDict(dict(T=_Const(0.25), S=_Const(0.5)))
    m.siamese = _Flat()
    s = torch.rand(2, 3, 4, 4) * 2 - 1
    t = torch.rand(2, 3, 4, 4) * 2 - 1
    losses, fake_t, fake_s = m.generator_losses(s, t)
    # identity generators: no cycle or identity error
    assert losses['loss_cyc'].item() == 0 and losses['loss_ide'].item() == 0
    assert losses['loss_adv'].item() == pytest.approx(0.75 ** 2 + 0.5 ** 2)
    # positives (s, G(s)), (t, F(t)) have d = 0; negatives (G(s), t), (F(t), s)
    # both have d = |n(s) - n(t)|, so L_con = 2 * mean over 4n pairs
    d = (_Flat()(s) - _Flat()(t)).norm(dim=1)
    want = 2.0 * (2 * ((2 - d) ** 2).sum()) / (4 * 2)
    assert losses['loss_con'].item() == pytest.approx(want.item(), rel=1e-5)
    dl = m.discriminator_losses(s, t, fake_t, fake_s)['loss_d']
    want_d = 0.5 * (0.75 ** 2 + 0.25 ** 2) + 0.5 * (0.5 ** 2 + 0.5 ** 2)
    assert dl.item() == pytest.approx(want_d)
    # CycleGAN (the ablation) has no Siamese net and no contrastive term
    cyc = SPGAN(generator=dict(ngf=4, n_blocks=1), discriminator=dict(ndf=4),
                contrastive_weight=0)
    assert cyc.siamese is None
    big = torch.rand(1, 3, 32, 32)
    assert 'loss_con' not in cyc.generator_losses(big, big)[0]


def _folder(root, n, color):
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(color)
    for i in range(n):
        arr = np.clip(np.array([color, 128, 255 - color]) + rng.normal(0, 20, (32, 16, 3)),
                      0, 255).astype(np.uint8)
        Image.fromarray(arr).save(osp.join(root, f'{i:03d}.jpg'))
    return root


def _cfg(tmp_path, contrastive_weight):
    adam = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=2e-3,
                                                    betas=(0.5, 0.999)))
    ow = dict(constructor='ReIDOptimWrapperConstructor', model=adam,
              discriminator=adam)
    if contrastive_weight:
        ow['siamese'] = adam
    return dict(
        default_scope='synthgen',
        custom_imports=dict(imports=['plugins.aost'], allow_failed_imports=False),
        work_dir=str(tmp_path / f'w{contrastive_weight}'),
        model=dict(type='SPGAN', generator=dict(ngf=4, n_blocks=1),
                   discriminator=dict(ndf=4, n_layers=2),
                   siamese=dict(ch=4, dim=8),
                   contrastive_weight=contrastive_weight),
        train_dataloader=dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
            dataset=dict(type='UnpairedImageDataset',
                         source_root=str(tmp_path / 'src'),
                         target_root=str(tmp_path / 'tgt'),
                         target_pattern='*.jpg', size=(32, 16))),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=3),
        optim_wrapper=ow,
        custom_hooks=[dict(type='SaveAdaptersHook')],
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=3,
                                           by_epoch=False)),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0))


@pytest.mark.parametrize('contrastive_weight', [2.0, 0.0])
def test_trains_through_the_runner_and_translates(tmp_path, contrastive_weight):
    from mmengine.config import Config
    from mmengine.runner import Runner
    _folder(str(tmp_path / 'src' / 'FineGPR' / '0001'), 4, 30)
    _folder(str(tmp_path / 'tgt'), 3, 220)
    os.makedirs(tmp_path / 'src' / '_toy_annotations', exist_ok=True)
    Image.new('RGB', (16, 32)).save(tmp_path / 'src' / '_toy_annotations' / 'x.jpg')
    ds = UnpairedImageDataset(str(tmp_path / 'src'), str(tmp_path / 'tgt'), size=(32, 16))
    assert len(ds.sources) == 4 and len(ds) == 4     # side-car folder skipped
    runner = Runner.from_cfg(Config(_cfg(tmp_path, contrastive_weight)))
    g0 = {k: v.clone() for k, v in runner.model.G.state_dict().items()}
    runner.train()
    g1 = runner.model.G.state_dict()
    assert any(not torch.equal(g0[k], g1[k]) for k in g0)
    adapters = osp.join(runner.work_dir, 'adapters')
    gen = GANTranslator(adapters, size=(32, 16))
    assert gen.kind == ('spgan' if contrastive_weight else 'cyclegan')
    src = np.asarray(Image.open(ds.sources[0]).convert('RGB'))
    out = gen([dict(image=src), dict(image=np.zeros((64, 32, 3), np.uint8))])
    assert out[0]['image'].size == (16, 32) and out[1]['image'].size == (32, 64)
    # the translator is the trained generator, applied to [-1, 1] inputs
    x = torch.from_numpy(src.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    with torch.no_grad():
        ref = ((runner.model.G(x)[0].permute(1, 2, 0).numpy() + 1) * 127.5)
    got = np.asarray(out[0]['image'], np.float32)
    assert np.abs(got - ref.clip(0, 255)).max() <= 1.0


def test_translator_needs_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match='generator_s2t'):
        GANTranslator(str(tmp_path))


def test_residual_generator_starts_as_the_identity(tmp_path):
    from plugins.aost.spgan import ResnetGenerator
    torch.manual_seed(0)
    g = ResnetGenerator(ngf=4, n_blocks=1, residual=True)
    x = torch.rand(2, 3, 32, 16) * 2 - 1
    assert torch.equal(g(x), x)                        # zero-initialised last conv
    assert torch.equal(g(3 * x), (3 * x).clamp(-1, 1))  # output kept in [-1, 1]
    # one Adam step on a colour shift moves it off the identity
    opt = torch.optim.Adam(g.parameters(), 1e-3)
    before = ((g(x) - (x + 0.2)) ** 2).mean()
    before.backward()
    opt.step()
    assert ((g(x) - (x + 0.2)) ** 2).mean().item() < before.item()
    assert (g(x) - x).mean().item() > 0
    # the translator rebuilds the residual architecture from its json
    m = SPGAN(generator=dict(ngf=4, n_blocks=1, residual=True),
              discriminator=dict(ndf=4), contrastive_weight=0)
    m.G.load_state_dict(g.state_dict())
    m.save_adapters(str(tmp_path))
    gen = GANTranslator(str(tmp_path), size=(32, 16))
    assert gen.G.residual
    img = ((x[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
    out = np.asarray(gen([dict(image=img)])[0]['image'], np.float32)
    with torch.no_grad():
        xin = torch.from_numpy(img.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
        want = ((g(xin)[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255)
    assert np.abs(out - want).max() <= 1.0


def test_image_list_relative_to_the_working_directory(tmp_path, monkeypatch):
    # the configs name the selected list as '${aost_root}/aost/selected.txt':
    # with a relative work dir it is relative to the working directory, not
    # to the source root (the live toy config stopped on this)
    _folder(str(tmp_path / 'src' / 'FineGPR' / '0001'), 3, 30)
    _folder(str(tmp_path / 'tgt'), 2, 220)
    os.makedirs(tmp_path / 'wd' / 'aost')
    (tmp_path / 'wd' / 'aost' / 'selected.txt').write_text(
        'FineGPR/0001/001.jpg\nFineGPR/0001/002.jpg\n')
    (tmp_path / 'src' / 'in_root.txt').write_text('FineGPR/0001/000.jpg\n')
    monkeypatch.chdir(tmp_path)
    ds = UnpairedImageDataset('src', 'tgt', source_list='wd/aost/selected.txt',
                              size=(32, 16))
    assert [osp.basename(p) for p in ds.sources] == ['001.jpg', '002.jpg']
    ds = UnpairedImageDataset('src', 'tgt', source_list='in_root.txt')
    assert [osp.basename(p) for p in ds.sources] == ['000.jpg']
