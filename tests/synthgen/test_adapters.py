"""LoRA multi-adapter switching and textual-inversion loading (tiny SD, offline)."""
import os

os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from synthgen.generators.adapters import (read_textual_inversion,  # noqa: E402
                                          save_lora_adapter,
                                          save_textual_inversion)
from synthgen.generators.diffusion import DiffusersText2Image  # noqa: E402
from synthgen.testing import make_clip_tokenizer, tiny_unet  # noqa: E402
from synthgen.testing import tiny_sd_components  # noqa: E402

GEN = dict(height=16, width=16, num_inference_steps=2, batch_size=4)


@pytest.fixture(scope='module')
def tok():
    return make_clip_tokenizer()


@pytest.fixture(scope='module')
def two_loras(tmp_path_factory):
    """Two random (non-zero) LoRA adapters saved in diffusers' format."""
    from peft import LoraConfig
    root = tmp_path_factory.mktemp('lora')
    unet = tiny_unet()
    for i, name in enumerate(['cam1', 'cam2']):
        torch.manual_seed(i)
        unet.add_adapter(LoraConfig(r=2, lora_alpha=2, init_lora_weights=False,
                                    target_modules=['to_q', 'to_k', 'to_v',
                                                    'to_out.0']),
                         adapter_name=name)
        save_lora_adapter(unet, name, str(root / name))
    return {n: str(root / n) for n in ['cam1', 'cam2']}


def test_lora_switching_per_request(two_loras, tok):
    gen = DiffusersText2Image(components=tiny_sd_components(tokenizer=tok),
                              lora=dict(cam1=two_loras['cam1'],
                                        cam2=dict(path=two_loras['cam2'],
                                                  scale=1.0)), **GEN)
    req = dict(prompt='a photo of a person', seed=5)
    # one batch mixing adapters: each request gets its own
    out = gen([req, dict(req, adapter='cam1'), dict(req, adapter='cam2'),
               dict(req, adapter='cam1')])
    base, a1, a2, a1b = [o['image'] for o in out]
    assert not np.array_equal(a1, a2)
    assert not np.array_equal(base, a1) and not np.array_equal(base, a2)
    assert np.abs(a1.astype(int) - a1b).max() <= 1
    assert out[1]['meta']['adapter'] == 'cam1'
    assert sorted(gen.pipe.get_list_adapters()['unet']) == ['cam1', 'cam2']
    # back to the base model after adapters were used
    again = gen([req])[0]['image']
    assert np.abs(again.astype(int) - base).max() <= 1
    with pytest.raises(KeyError, match='unknown LoRA adapter'):
        gen([dict(req, adapter='cam9')])


def test_lora_missing_path(tmp_path, tok):
    gen = DiffusersText2Image(components=tiny_sd_components(tokenizer=tok),
                              lora=dict(ir=str(tmp_path / 'none')), **GEN)
    with pytest.raises(FileNotFoundError, match='tools/finetune.py'):
        gen.load()


def test_textual_inversion_tokens_load(tmp_path, tok):
    torch.manual_seed(0)
    embs = {f'<p{i}>': torch.randn(32) for i in range(3)}
    path = save_textual_inversion(tmp_path / 'ti', embs)
    assert set(read_textual_inversion(path)) == set(embs)
    # a one-token file is diffusers' own format
    single = save_textual_inversion(tmp_path / 'one.safetensors',
                                    {'<p9>': torch.randn(32)})
    gen = DiffusersText2Image(components=tiny_sd_components(
        tokenizer=make_clip_tokenizer()),
        textual_inversion=[path], **GEN)
    pipe = gen.pipe
    assert gen.ti_tokens == ['<p0>', '<p1>', '<p2>']
    pipe.load_textual_inversion(single)
    table = pipe.text_encoder.get_input_embeddings().weight
    for token, emb in embs.items():
        tid = pipe.tokenizer.convert_tokens_to_ids(token)
        assert torch.allclose(table[tid], emb)
    ids = pipe.tokenizer('a photo of <p1> person').input_ids
    assert pipe.tokenizer.convert_tokens_to_ids('<p1>') in ids
    a, b = gen([dict(prompt='a photo of <p0> person', seed=0),
                dict(prompt='a photo of <p1> person', seed=0)])
    assert not np.array_equal(a['image'], b['image'])
