"""Discriminator guidance: sign/shape of the correction, t > 200 only,
wrapping a tiny SD inpainting pipeline, and training."""
import numpy as np
import pytest
import torch

from plugins.dlcr.discriminator import (DiscriminatorGuidedInpainter,
                                        GuidedUNet, LatentDiscriminator,
                                        discriminator_loss, guided_noise,
                                        sd_alphas_cumprod)


class LinearDisc(torch.nn.Module):
    """logit(x, t) = <a, x>: its score is exactly ``a``."""

    def __init__(self, a):
        super().__init__()
        self.a = torch.nn.Parameter(a, requires_grad=False)

    def forward(self, x, t):
        return (x * self.a).flatten(1).sum(1)


def test_guided_noise_sign_shape_and_threshold():
    alphas = sd_alphas_cumprod()
    a = torch.randn(4, 6, 5)
    disc = LinearDisc(a)
    x = torch.randn(3, 4, 6, 5)
    eps = guided_noise(disc, x, torch.tensor(500), alphas, weight=2.0)
    assert eps.shape == x.shape
    # eps_d = -sigma_t * grad log(D / (1 - D)) = -sigma_t * a (Eq. 7), times w
    sigma = float((1 - alphas[500]).sqrt())
    torch.testing.assert_close(eps, (-2.0 * sigma * a).expand_as(x))
    # moving x along eps_d (a denoising step subtracts the noise) raises D
    assert (disc(x - 0.01 * eps, None) > disc(x, None)).all()
    assert torch.equal(guided_noise(disc, x, 200, alphas), torch.zeros_like(x))
    assert torch.equal(guided_noise(disc, x, 150, alphas), torch.zeros_like(x))
    assert guided_noise(disc, x, 201, alphas).abs().sum() > 0


class ZeroUNet(torch.nn.Module):
    config = {'in_channels': 9}

    def forward(self, sample, timestep, encoder_hidden_states=None,
                return_dict=True):
        out = torch.zeros(sample.shape[0], 4, *sample.shape[2:])
        if not return_dict:
            return (out,)
        from types import SimpleNamespace
        return SimpleNamespace(sample=out)


def test_guided_unet_adds_correction_only_after_t_min():
    alphas = sd_alphas_cumprod()
    a = torch.randn(4, 6, 5)
    wrapped = GuidedUNet(ZeroUNet(), LinearDisc(a), alphas, weight=1.0)
    x = torch.randn(2, 9, 6, 5)  # inpainting input: latents + mask + masked
    high = wrapped(x, torch.tensor(900), None, return_dict=False)[0]
    torch.testing.assert_close(high, -(1 - alphas[900]).sqrt() * a.expand(2, -1,
                                                                         -1, -1))
    low = wrapped(x, torch.tensor(100), None).sample
    assert torch.equal(low, torch.zeros_like(low))
    assert wrapped.config == {'in_channels': 9}  # attributes of the UNet


def test_generator_with_tiny_sd_inpainting():
    from synthgen.testing import tiny_sd_pipeline
    img = np.random.default_rng(0).integers(0, 255, (32, 16, 3), np.uint8)
    mask = np.zeros((32, 16), np.uint8)
    mask[8:24] = 3
    req = [dict(prompt='a red shirt', seed=0, image=img, mask=mask)]
    torch.manual_seed(0)
    disc = LatentDiscriminator(width=8, num_blocks=1, time_dim=16)
    gen = DiscriminatorGuidedInpainter(
        pipeline=tiny_sd_pipeline('inpaint'), scheduler='ddim',
        discriminator=disc, guidance_weight=0.0, height=32, width=16,
        num_inference_steps=2, device='cpu')
    outs = {}
    for w in (0.0, 50.0):
        gen.pipe.unet.weight = w
        gen.guidance_weight = w
        out = gen(req)[0]
        assert out['image'].shape == (32, 16, 3)
        assert out['meta']['discriminator_guidance'] == w
        # composited: pixels outside the clothes mask are the source's
        assert (out['image'][mask == 0] == img[mask == 0]).all()
        outs[w] = out['image']
    assert isinstance(gen.pipe.unet, GuidedUNet)
    assert not np.array_equal(outs[0.0], outs[50.0])
    with pytest.raises(ValueError, match='needs discriminator'):
        DiscriminatorGuidedInpainter(pipeline=object())


def test_discriminator_learns_real_vs_generated():
    torch.manual_seed(0)
    alphas = sd_alphas_cumprod()
    disc = LatentDiscriminator(width=8, num_blocks=1, time_dim=16)
    opt = torch.optim.Adam(disc.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(40):
        real = torch.randn(16, 4, 4, 2, generator=g) + 1.5
        fake = torch.randn(16, 4, 4, 2, generator=g) - 1.5
        loss, _ = discriminator_loss(disc, real, fake, alphas[:300], g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])


def test_train_discriminator_tool(toy_prcc, tmp_path):
    from plugins.dlcr.train_discriminator import train_discriminator
    from synthgen.testing import tiny_vae
    import plugins.dlcr  # noqa: F401
    cfg = dict(
        discriminator=dict(width=8, num_blocks=1, time_dim=16),
        discriminator_training=dict(
            real=dict(type='PRCC', data_root=toy_prcc, split='train'),
            generated=dict(type='PRCC', data_root=toy_prcc, split='query'),
            image_size=(32, 16), batch_size=2, iterations=3, lr=1e-3,
            out='{work_dir}/disc.pth', device='cpu'))
    ckpt = train_discriminator(cfg, str(tmp_path), vae=tiny_vae(),
                               log_every=0)
    assert len(ckpt['history']) == 3
    gen = DiscriminatorGuidedInpainter(pipeline=object(),
                                       discriminator=str(tmp_path / 'disc.pth'))
    disc = gen._load_discriminator()
    assert isinstance(disc, LatentDiscriminator)
    assert disc(torch.zeros(1, 4, 16, 8), torch.tensor([5])).shape == (1,)
