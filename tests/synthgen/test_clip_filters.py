"""CLIP attribute filter, embedding-similarity filter and CLIP score (tiny models)."""
import os

os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from mmengine.model import BaseModel  # noqa: E402
from mmengine.registry import MODELS  # noqa: E402

from synthgen.filters.clip_attribute import CLIPAttributeFilter  # noqa: E402
from synthgen.filters.embedding import EmbeddingSimilarityFilter  # noqa: E402
from synthgen.metrics import CLIPScore  # noqa: E402
from synthgen.testing import tiny_open_clip  # noqa: E402

COLOURS = ['red', 'green', 'blue', 'white', 'black']


@pytest.fixture(scope='module')
def oclip():
    return tiny_open_clip()


def _img(seed, size=(32, 32)):
    return np.random.RandomState(seed).randint(0, 255, size + (3,),
                                               dtype=np.uint8)


def test_clip_attribute_keeps_only_matching_value(oclip):
    model, preprocess, tok = oclip
    flt = CLIPAttributeFilter(
        vocabulary=dict(color=COLOURS, type=['sedan', 'suv', 'truck']),
        templates=dict(color=['a photo of a {value} car',
                              'a {value} vehicle'],
                       type='a photo of a {value}'),
        model=model, preprocess=preprocess, tokenizer=tok)
    img = _img(0)
    best = flt.predict(img, 'color')
    assert sorted(best) == sorted(COLOURS)
    # the hand computation: argmax of cosine similarity, prompt-ensembled
    with torch.no_grad():
        x = preprocess(__import__('PIL').Image.fromarray(img))[None]
        f = model.encode_image(x)[0]
        f = f / f.norm()
        per_tpl = []
        for tpl in ['a photo of a {value} car', 'a {value} vehicle']:
            t = model.encode_text(tok([tpl.format(value=c) for c in COLOURS]))
            per_tpl.append(t / t.norm(dim=-1, keepdim=True))
        t = torch.stack(per_tpl).mean(0)
        t = t / t.norm(dim=-1, keepdim=True)
    assert best[0] == COLOURS[int(torch.argmax(t @ f))]

    top_type = flt.predict(img, 'type')[0]
    keep = flt(dict(image=img, request=dict(
        attributes=dict(color=best[0], type=top_type))))
    assert keep.keep, keep.reason
    drop = flt(dict(image=img, request=dict(
        attributes=dict(color='green'), meta=dict(
            prompt_attributes=dict(color=best[1])))))
    assert not drop.keep and best[1] in drop.reason  # builder's words win
    # unknown values / attributes are not checked
    assert flt(dict(image=img, request=dict(attributes=dict(
        color='mauve')))).keep
    top2 = CLIPAttributeFilter(vocabulary=dict(color=COLOURS), top_k=2,
                               model=model, preprocess=preprocess,
                               tokenizer=tok)
    second = top2.predict(img, 'color')[1]
    assert top2(dict(image=img, request=dict(attributes=dict(
        color=second)))).keep


def test_clip_attribute_needs_local_weights(tmp_path):
    with pytest.raises(FileNotFoundError, match='pretrained'):
        CLIPAttributeFilter(vocabulary=dict(color=COLOURS),
                            pretrained=str(tmp_path / 'clip.bin'))
    with pytest.raises(ValueError, match='at least two'):
        CLIPAttributeFilter(vocabulary=dict(color=['red']))


def test_clip_score_matches_hand_computation(oclip):
    from PIL import Image
    model, preprocess, tok = oclip
    imgs = [_img(1), _img(2)]
    prompts = ['a red car', 'a person in a blue coat']
    score = CLIPScore(model=model, preprocess=preprocess, tokenizer=tok,
                      batch_size=1)
    per = score.scores(imgs, prompts)
    with torch.no_grad():
        hand = []
        for im, p in zip(imgs, prompts):
            a = model.encode_image(preprocess(Image.fromarray(im))[None])[0]
            b = model.encode_text(tok([p]))[0]
            cos = float(a @ b / (a.norm() * b.norm()))
            hand.append(max(100 * cos, 0.0))
    assert per.tolist() == pytest.approx(hand, abs=1e-4)
    assert score(imgs, prompts) == pytest.approx(np.mean(hand), abs=1e-4)
    with pytest.raises(ValueError, match='prompts'):
        score(imgs, prompts[:1])


class MeanColour(BaseModel):
    """A 'feature extractor' mmengine model: mean colour per image."""

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return inputs.float().mean(dim=(2, 3)) - 100.0


def test_embedding_filter_with_callable_module_and_registry():
    src = np.full((32, 16, 3), (200, 30, 30), np.uint8)
    close = src.copy()
    close[:4] = (190, 40, 40)
    far = np.full((32, 16, 3), (20, 30, 220), np.uint8)
    req = dict(image=src, source='a.png')

    # plain callable on uint8 arrays
    def extractor(arrays):
        return np.stack([a.reshape(-1, 3).mean(0) - 100 for a in arrays])
    flt = EmbeddingSimilarityFilter(extractor, min_similarity=0.9)
    assert flt(dict(image=close, request=req)).keep
    res = flt(dict(image=far, request=req))
    assert not res.keep and 'similarity' in res.reason
    flt.reset()
    copy_flt = EmbeddingSimilarityFilter(extractor, max_similarity=0.999)
    assert not copy_flt(dict(image=src, request=req)).keep

    # mmengine model built from a config through the root MODELS registry
    if 'MeanColourTest' not in MODELS:
        MODELS.register_module('MeanColourTest', module=MeanColour)
    flt2 = EmbeddingSimilarityFilter(dict(type='MeanColourTest'),
                                     input_size=(16, 8), min_similarity=0.9)
    assert flt2(dict(image=close, request=req)).keep
    assert not flt2(dict(image=far, request=req)).keep

    # a plain nn.Module gets normalised float batches
    conv = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1),
                               torch.nn.Flatten())
    flt3 = EmbeddingSimilarityFilter(conv, input_size=(16, 8),
                                     min_similarity=0.9)
    assert flt3(dict(image=close, request=req)).keep
    assert not flt3(dict(image=far, request=req)).keep
    assert flt3(dict(image=far, request=dict(prompt='x'))).keep  # no reference
