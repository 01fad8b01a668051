"""diffusers generators on tiny random-weight SD / SDXL models (no network)."""
import os

os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from synthgen.generators.diffusion import (DiffusersInpainter,  # noqa: E402
                                           DiffusersText2Image,
                                           make_scheduler)
from synthgen.testing import (tiny_sd_components,  # noqa: E402
                              tiny_sd_pipeline, tiny_sdxl_components)

SIZE = dict(height=32, width=32, num_inference_steps=2)


@pytest.fixture(scope='module')
def t2i_components():
    return tiny_sd_components(4)


def test_text2image_seed_batch_and_scheduler(t2i_components):
    gen = DiffusersText2Image(components=t2i_components, scheduler='dpm++',
                              batch_size=2, **SIZE)
    reqs = [dict(prompt='a red car', seed=1), dict(prompt='a red car', seed=2),
            dict(prompt='a red car', seed=1)]
    out = gen(reqs)
    assert len(out) == 3
    imgs = [o['image'] for o in out]
    assert imgs[0].shape == (32, 32, 3) and imgs[0].dtype == np.uint8
    assert out[0]['mask'] is None
    # same seed -> same image, even in another batch; other seed differs
    assert np.abs(imgs[0].astype(int) - imgs[2]).max() <= 1
    assert not np.array_equal(imgs[0], imgs[1])
    meta = out[0]['meta']
    assert meta['scheduler'] == 'DPMSolverMultistepScheduler'
    assert gen.pipe.scheduler.config.algorithm_type == 'dpmsolver++'
    assert meta['seed'] == 1 and meta['prompt'] == 'a red car'
    # batch of one gives the same image as inside a batch of two
    single = DiffusersText2Image(pipeline=gen.pipe, **SIZE)([reqs[1]])
    assert np.abs(single[0]['image'].astype(int) - imgs[1]).max() <= 2


def test_text2image_from_saved_folder_and_bf16(tmp_path):
    tiny_sd_pipeline('text2image', save_dir=str(tmp_path / 'sd'))
    gen = DiffusersText2Image(str(tmp_path / 'sd'), dtype='bf16',
                              scheduler='euler_a', **SIZE)
    out = gen([dict(prompt='a person', seed=0)])
    assert out[0]['image'].shape == (32, 32, 3)
    assert gen.pipe.unet.dtype.is_floating_point
    assert str(gen.pipe.unet.dtype) == 'torch.bfloat16'


def test_sdxl_text2image():
    gen = DiffusersText2Image(components=tiny_sdxl_components(), **SIZE)
    out = gen([dict(prompt='a white van', seed=0)])
    assert type(gen.pipe).__name__ == 'StableDiffusionXLPipeline'
    assert out[0]['image'].shape == (32, 32, 3)
    inp = DiffusersInpainter(components=tiny_sdxl_components(9), **SIZE)
    img, mask = _source_and_mask()
    res = inp([dict(prompt='a red coat', seed=0, image=img, mask=mask)])
    assert type(inp.pipe).__name__ == 'StableDiffusionXLInpaintPipeline'
    assert np.array_equal(res[0]['image'][mask == 0], img[mask == 0])


def test_missing_weights_message(tmp_path):
    gen = DiffusersText2Image(str(tmp_path / 'nope'), **SIZE)
    with pytest.raises(FileNotFoundError,
                       match='pretrained_model_name_or_path'):
        gen.load()
    with pytest.raises(ValueError, match='pretrained_model_name_or_path'):
        DiffusersText2Image()
    with pytest.raises(KeyError, match='unknown scheduler'):
        make_scheduler('nope', t2i_cfg())


def t2i_cfg():
    from diffusers import DDIMScheduler
    return DDIMScheduler().config


def _source_and_mask(h=40, w=24):
    rng = np.random.RandomState(0)
    img = rng.randint(0, 255, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[10:30, 4:20] = 1
    return img, mask


@pytest.mark.parametrize('in_channels', [9, 4])
def test_inpainting_composites_back(in_channels):
    comps = tiny_sd_components(in_channels)
    gen = DiffusersInpainter(components=comps, batch_size=2, **SIZE)
    img, mask = _source_and_mask()
    reqs = [dict(prompt='a red jacket', seed=0, image=img, mask=mask),
            dict(prompt='a red jacket', seed=1, image=img, mask=mask)]
    out = gen(reqs)
    for o in out:
        res = o['image']
        assert res.shape == img.shape and res.dtype == np.uint8
        # outside the mask: the source, exactly
        assert np.array_equal(res[mask == 0], img[mask == 0])
        # inside: generated
        assert not np.array_equal(res[mask > 0], img[mask > 0])
        assert o['mask'].shape == mask.shape
        assert set(np.unique(o['mask'])) <= {0, 255}
    assert not np.array_equal(out[0]['image'], out[1]['image'])
    assert gen.pipe.unet.config.in_channels == in_channels


def test_inpainting_soft_mask_and_errors(t2i_components):
    comps = tiny_sd_components(9, tokenizer=t2i_components['tokenizer'])
    gen = DiffusersInpainter(components=comps, mask_blur=2, **SIZE)
    img, mask = _source_and_mask()
    out = gen([dict(prompt='blue jeans', seed=0, image=img, mask=mask)])
    res = out[0]['image']
    far = np.ones_like(mask, bool)
    far[5:35, 0:24] = False  # well away from the blurred edge
    assert np.array_equal(res[far], img[far])
    with pytest.raises(KeyError, match="'mask'"):
        gen([dict(prompt='x', seed=0, image=img)])


def test_compile_switch(t2i_components):
    """torch.compile wraps the UNet; 'eager' backend keeps the test fast."""
    import torch
    from synthgen.testing import make_clip_tokenizer
    comps = tiny_sd_components(4, tokenizer=make_clip_tokenizer())
    plain = DiffusersText2Image(components=comps, **SIZE)
    ref = plain([dict(prompt='a car', seed=3)])[0]['image']
    gen = DiffusersText2Image(pipeline=plain.pipe, compile=True,
                              compile_kwargs=dict(backend='eager'), **SIZE)
    out = gen([dict(prompt='a car', seed=3)])[0]['image']
    assert isinstance(gen.pipe.unet, torch._dynamo.eval_frame.OptimizedModule)
    assert np.abs(out.astype(int) - ref).max() <= 1


def test_default_adapter_applies_when_the_request_names_none(tmp_path):
    """A fine-tuned LoRA used for every image (Vehicle-Diff): requests need
    not name it; adapter=None in a request still means the base model."""
    import torch
    from peft import LoraConfig
    from synthgen.generators.adapters import save_lora_adapter
    comps = tiny_sd_components()
    unet = comps['unet']
    unet.add_adapter(LoraConfig(r=2, lora_alpha=2, init_lora_weights='gaussian',
                                target_modules=['to_q', 'to_v']),
                     adapter_name='ft')
    with torch.no_grad():
        for n, p in unet.named_parameters():
            if 'lora_B' in n:
                p.normal_(0, 0.5)
    save_lora_adapter(unet, 'ft', str(tmp_path / 'ft'))
    gen = DiffusersText2Image(components=tiny_sd_components(),
                              lora=dict(ft=str(tmp_path / 'ft')),
                              default_adapter='ft', **SIZE)
    req = dict(prompt='a red car', seed=1)
    implicit, explicit, base = gen([req, dict(req, adapter='ft'),
                                    dict(req, adapter=None)])
    np.testing.assert_array_equal(implicit['image'], explicit['image'])
    assert not np.array_equal(implicit['image'], base['image'])
    assert implicit['meta']['adapter'] == 'ft'
