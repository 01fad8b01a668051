"""The recipe's augmentations (AugMix, RandomPatch, RandomBlur) and the
backbone-freezing hook."""
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps
from torch import nn

from plugins.strong_vehicle import (FreezeBackboneHook, ReIDAugMix,
                                    ReIDRandomBlur, ReIDRandomPatch)
from reidkit.registry import TRANSFORMS


def image(seed=0, h=40, w=48):
    rng = np.random.default_rng(seed)
    img = rng.integers(40, 200, (h, w, 3), dtype=np.uint8)
    img[10:20, 5:30] = 250  # some structure
    return img


def test_random_blur_is_their_5x5_gaussian():
    img = image()
    out = ReIDRandomBlur(prob=1.0)(dict(img=img))['img']
    np.testing.assert_array_equal(out, cv2.GaussianBlur(img, (5, 5), 1.3))
    np.testing.assert_array_equal(ReIDRandomBlur(prob=0.0)(
        dict(img=img))['img'], img)


def test_augmix_is_the_blend_of_original_and_chains():
    img = image(1)
    t = TRANSFORMS.build(dict(type='ReIDAugMix', prob=1.0,
                              ops=['autocontrast'], width=1))
    np.random.seed(3)
    out = t(dict(img=img))['img']
    np.random.seed(3)
    np.random.rand()                                   # the prob draw
    ws = np.float32(np.random.dirichlet([0.1]))
    m = np.float32(np.random.beta(0.1, 0.1))
    chain = np.asarray(ImageOps.autocontrast(Image.fromarray(img)))
    expected = ((1 - m) * img + m * ws[0] * chain).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    full = ReIDAugMix(prob=1.0, width=3)(dict(img=img))['img']
    assert full.shape == img.shape and full.dtype == np.uint8
    with pytest.raises(ValueError, match='unknown ops'):
        ReIDAugMix(ops=['cutout'])


def test_random_patch_pastes_a_pooled_patch_once_the_pool_is_full():
    np.random.seed(0)
    t = ReIDRandomPatch(prob=1.0, min_pool=3, patch_max_area=0.16)
    imgs = [image(s) for s in range(4)]
    for img in imgs[:2]:  # pool not full yet: unchanged
        np.testing.assert_array_equal(t(dict(img=img))['img'], img)
    assert len(t.pool) == 2
    for img in imgs[2:]:
        res = t(dict(img=img))
        y, x, ph, pw = res['patch_box']
        changed = res['img'] != img
        outside = changed.copy()
        outside[y:y + ph, x:x + pw] = False
        assert not outside.any()          # only the pasted box changed
        assert changed.any()
        assert ph * pw <= 0.16 * img.shape[0] * img.shape[1] + 1e-9
    img = image(9)
    never = ReIDRandomPatch(prob=0.0, min_pool=1)
    for _ in range(3):
        np.testing.assert_array_equal(never(dict(img=img))['img'], img)
    assert len(never.pool) == 3


def test_freeze_backbone_hook_freezes_the_first_epoch_only():
    model = nn.Module()
    model.backbone = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    model.head = nn.Linear(4, 2)
    model.backbone[1].bias.requires_grad_(False)  # frozen by the model
    hook = FreezeBackboneHook(epochs=1)
    runner = SimpleNamespace(model=model, epoch=0)
    model.train()
    hook.before_train_iter(runner, 0)
    assert not any(p.requires_grad for p in model.backbone.parameters())
    assert not model.backbone.training and model.head.training
    assert all(p.requires_grad for p in model.head.parameters())
    runner.epoch = 1
    model.train()
    hook.before_train_iter(runner, 0)
    assert model.backbone[0].weight.requires_grad
    assert model.backbone[1].weight.requires_grad
    assert not model.backbone[1].bias.requires_grad  # stays as it was
    assert model.backbone.training
    with pytest.raises(AttributeError, match='trunk'):
        FreezeBackboneHook(module='trunk').before_train_iter(runner, 0)
