"""Clothes-mask providers: LIP/ATR clothing sets, caching, toy-world masks."""
import os
import types

import numpy as np
import pytest
import torch
from PIL import Image

from plugins.dlcr.masks import (LABEL_MAPS, build_mask_provider,
                                HumanParsingMaskProvider, ToyWorldMaskProvider,
                                clothes_lut)

os.environ.setdefault('HF_HUB_OFFLINE', '1')

LIP_CLOTHES = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 18, 19}


def test_lip_and_atr_clothing_sets():
    lip = clothes_lut(LABEL_MAPS['lip'])
    assert set(np.flatnonzero(lip)) == LIP_CLOTHES
    # kept: background, hat, hair, face, arms, legs
    assert all(lip[i] == 0 for i in (0, 1, 2, 13, 14, 15, 16, 17))
    # parts: upper 3, lower 4, feet 5
    assert lip[5] == lip[6] == lip[7] == lip[10] == 3
    assert lip[9] == lip[12] == 4 and lip[8] == lip[18] == lip[19] == 5
    assert set(np.flatnonzero(clothes_lut(LABEL_MAPS['lip'],
                                          keep=('sunglasses',)))) == \
        LIP_CLOTHES - {4}
    atr = clothes_lut(LABEL_MAPS['atr'])
    assert set(np.flatnonzero(atr)) == {3, 4, 5, 6, 7, 8, 9, 10, 16, 17}


class GridParser(torch.nn.Module):
    """A 'parser' whose label is known at every pixel: column index % 20."""

    def __init__(self):
        super().__init__()
        self.config = types.SimpleNamespace(num_labels=20)
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, pixel_values):
        b, _, h, w = pixel_values.shape
        lab = torch.arange(w) % 20
        logits = torch.nn.functional.one_hot(lab, 20).T.float()  # (20, w)
        logits = logits[:, None, :].expand(20, h, w)
        return types.SimpleNamespace(logits=logits[None].expand(b, -1, -1,
                                                                -1) * 10)


class IdentityProcessor:
    def __call__(self, images, return_tensors='pt'):
        arr = np.stack([np.asarray(im, np.float32) for im in images])
        return {'pixel_values': torch.from_numpy(arr).permute(0, 3, 1, 2)}


def _write(path, h=8, w=40):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.random.default_rng(0).integers(
        0, 255, (h, w, 3), dtype=np.uint8)).save(path)


def test_marks_exactly_clothing_labels(tmp_path):
    img = str(tmp_path / 'data' / 'rgb' / 'a.png')
    _write(img)
    prov = HumanParsingMaskProvider(GridParser(), IdentityProcessor(),
                                    label_map='lip',
                                    cache_dir=str(tmp_path / 'cache'),
                                    root=str(tmp_path / 'data'), device='cpu')
    mask = prov([img])[0]
    labels = np.arange(40) % 20
    expected = np.isin(labels, sorted(LIP_CLOTHES))
    np.testing.assert_array_equal(mask[0] > 0, expected)
    assert (mask == mask[0]).all()
    # cached label map at <cache>/<relpath>.png, reused without the model
    assert (tmp_path / 'cache' / 'rgb' / 'a.png').is_file()
    prov._model = None
    prov.model_ref = 'not/a/model'
    np.testing.assert_array_equal(prov([img])[0], mask)


def test_tiny_segformer_end_to_end(tmp_path):
    from transformers import (SegformerConfig,
                              SegformerForSemanticSegmentation,
                              SegformerImageProcessor)
    torch.manual_seed(0)
    cfg = SegformerConfig(num_labels=20, num_encoder_blocks=2, depths=[1, 1],
                          sr_ratios=[2, 1], hidden_sizes=[8, 16],
                          patch_sizes=[7, 3], strides=[4, 2],
                          num_attention_heads=[1, 1], mlp_ratios=[2, 2],
                          decoder_hidden_size=16)
    model = SegformerForSemanticSegmentation(cfg)
    proc = SegformerImageProcessor(size={'height': 64, 'width': 32})
    paths = []
    for i in range(3):
        p = str(tmp_path / f'img{i}.jpg')
        _write(p, 48 + 8 * i, 24)
        paths.append(p)
    prov = build_mask_provider(dict(type='HumanParsingMaskProvider',
                                    model=model, processor=proc,
                                    cache_dir=str(tmp_path / 'c'),
                                    batch_size=2, device='cpu'))
    labels = prov.labels(paths)
    masks = prov(paths)
    for lab, m, i in zip(labels, masks, range(3)):
        assert lab.shape == m.shape == (48 + 8 * i, 24)
        np.testing.assert_array_equal(m > 0, np.isin(lab, sorted(LIP_CLOTHES)))


def test_bad_label_map_and_missing_model():
    with pytest.raises(KeyError, match='unknown label_map'):
        HumanParsingMaskProvider('x', label_map='pascal')
    with pytest.raises(ValueError, match='neither kept'):
        HumanParsingMaskProvider('x', label_map={0: 'background', 1: 'tail'})
    prov = HumanParsingMaskProvider('/nonexistent/parser', device='cpu')
    with pytest.raises(FileNotFoundError, match='cannot load the parser'):
        prov.parse([np.zeros((4, 4, 3), np.uint8)])


def test_toy_world_provider(tmp_path):
    root = tmp_path / 'toy'
    img = root / 'rgb' / 'train' / '001' / 'A_1.jpg'
    _write(str(img))
    parts = np.tile(np.arange(7, dtype=np.uint8), (8, 6))[:, :40]
    mpath = root / '_toy_annotations' / 'masks' / 'rgb' / 'train' / '001'
    os.makedirs(mpath)
    Image.fromarray(parts).save(mpath / 'A_1.png')
    prov = ToyWorldMaskProvider(str(root))
    m = prov([str(img)])[0]
    np.testing.assert_array_equal(m, np.where(np.isin(parts, [3, 4, 5]),
                                              parts, 0))
    with pytest.raises(FileNotFoundError, match='_toy_annotations/masks'):
        prov([str(root / 'rgb' / 'train' / '001' / 'missing.jpg')])
