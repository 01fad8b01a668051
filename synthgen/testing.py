"""Tiny random-weight models and offline tokenizers for tests and smoke runs.

Every builder here constructs a real diffusers / transformers / open_clip model
from a small config with random weights, and every tokenizer is built from
files that ship with installed packages (open_clip's BPE merges) or from a
byte-level vocabulary made on the fly. Nothing touches the network, so tests,
benchmarks (``--tiny``) and plugins can exercise the real library code paths.

Example:
    >>> from synthgen.testing import tiny_sd_components
    >>> from diffusers import StableDiffusionPipeline
    >>> pipe = StableDiffusionPipeline(**tiny_sd_components(), safety_checker=None,
    ...                                feature_extractor=None,
    ...                                requires_safety_checker=False)
"""
from __future__ import annotations

import gzip
import os
from typing import Optional, Sequence

import torch

__all__ = [
    'make_clip_tokenizer', 'make_byte_tokenizer', 'tiny_unet', 'tiny_vae',
    'tiny_clip_text_encoder', 'tiny_sd_components', 'tiny_sdxl_components',
    'tiny_sd_pipeline', 'tiny_open_clip', 'tiny_llava', 'tiny_blip2',
    'tiny_llm', 'random_fid_inception_state', 'tiny_rtmdet_checkpoint',
    'CHAT_TEMPLATE'
]

# A minimal chat template (user / assistant turns) for the tiny causal LMs.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] | upper }}: {{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}")

# LLaVA-1.5 style template: image placeholder then the question.
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] | upper }}: "
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<image>\n"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}")


def _bytes_to_unicode() -> dict:
    """GPT-2 / CLIP reversible byte -> printable unicode character table."""
    bs = (list(range(ord('!'), ord('~') + 1)) +
          list(range(ord('¡'), ord('¬') + 1)) +
          list(range(ord('®'), ord('ÿ') + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def make_clip_tokenizer(num_merges: Optional[int] = 2000,
                        model_max_length: int = 77,
                        save_dir: Optional[str] = None):
    """Build a real ``transformers.CLIPTokenizer`` offline.

    The vocabulary and merges are CLIP's own, read from the BPE file that
    ships inside ``open_clip``; ``num_merges`` truncates them for a small
    vocabulary (``None`` keeps all 48894 merges: the 49408-token SD vocab).

    Args:
        num_merges (int | None): How many BPE merges to keep.
        model_max_length (int): Padding/truncation length (CLIP: 77).
        save_dir (str, optional): Also ``save_pretrained`` the tokenizer here.

    Returns:
        transformers.CLIPTokenizer
    """
    import open_clip
    from transformers import CLIPTokenizer
    bpe_path = os.path.join(os.path.dirname(open_clip.__file__),
                            'bpe_simple_vocab_16e6.txt.gz')
    lines = gzip.open(bpe_path).read().decode('utf-8').split('\n')
    # first line is a header; CLIP uses the next 49152-256-2 lines
    lines = lines[1:49152 - 256 - 2 + 1]
    if num_merges is not None:
        lines = lines[:num_merges]
    merges = [tuple(line.split()) for line in lines]
    chars = list(_bytes_to_unicode().values())
    vocab_list = chars + [c + '</w>' for c in chars]
    vocab_list += [''.join(m) for m in merges]
    vocab_list += ['<|startoftext|>', '<|endoftext|>']
    vocab = {}
    for tok in vocab_list:  # truncated merges can repeat a token; keep first
        vocab.setdefault(tok, len(vocab))
    tok = CLIPTokenizer(vocab=vocab, merges=merges,
                        model_max_length=model_max_length)
    if save_dir is not None:
        tok.save_pretrained(save_dir)
    return tok


def make_byte_tokenizer(special_tokens: Sequence[str] = (),
                        chat_template: Optional[str] = CHAT_TEMPLATE,
                        padding_side: str = 'left'):
    """A byte-level BPE ``PreTrainedTokenizerFast`` with no merges.

    Every UTF-8 byte is one token, so any text round-trips; ids 0..2 are
    ``<pad>``, ``<s>``, ``</s>`` and ``special_tokens`` follow the 256 bytes.

    Args:
        special_tokens (Sequence[str]): Extra special tokens (e.g. ``<image>``).
        chat_template (str | None): Jinja chat template to attach.
        padding_side (str): ``'left'`` for batched generation.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    vocab = {'<pad>': 0, '<s>': 1, '</s>': 2}
    for ch in _bytes_to_unicode().values():
        vocab[ch] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token='<s>', eos_token='</s>',
        pad_token='<pad>', unk_token='<pad>', padding_side=padding_side,
        additional_special_tokens=list(special_tokens) or None)
    if chat_template is not None:
        tok.chat_template = chat_template
    return tok


def tiny_unet(in_channels: int = 4, sample_size: int = 8,
              cross_attention_dim: int = 32, sdxl: bool = False):
    """A two-level ``UNet2DConditionModel`` (32/64 channels) with random weights.

    ``in_channels=9`` gives an inpainting UNet; ``sdxl=True`` adds SDXL's
    ``text_time`` additional conditioning.
    """
    from diffusers import UNet2DConditionModel
    kwargs = {}
    if sdxl:
        kwargs = dict(addition_embed_type='text_time',
                      addition_time_embed_dim=8,
                      projection_class_embeddings_input_dim=80,
                      attention_head_dim=(2, 4),
                      use_linear_projection=True,
                      transformer_layers_per_block=(1, 2))
        cross_attention_dim = 64
    else:
        kwargs = dict(attention_head_dim=(2, 4))
    torch.manual_seed(0)
    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1,
        sample_size=sample_size, in_channels=in_channels, out_channels=4,
        down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D'),
        up_block_types=('CrossAttnUpBlock2D', 'UpBlock2D'),
        cross_attention_dim=cross_attention_dim, norm_num_groups=32,
        **kwargs)


def tiny_vae(sample_size: int = 32):
    """A two-level ``AutoencoderKL`` (4 latent channels, downscale 2)."""
    from diffusers import AutoencoderKL
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3,
        down_block_types=['DownEncoderBlock2D', 'DownEncoderBlock2D'],
        up_block_types=['UpDecoderBlock2D', 'UpDecoderBlock2D'],
        latent_channels=4, sample_size=sample_size, norm_num_groups=32)


def tiny_clip_text_encoder(vocab_size: int, hidden_size: int = 32,
                           with_projection: bool = False,
                           projection_dim: int = 32):
    """A 2-layer ``CLIPTextModel`` (or ``...WithProjection``), random weights."""
    from transformers import (CLIPTextConfig, CLIPTextModel,
                              CLIPTextModelWithProjection)
    config = CLIPTextConfig(
        bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
        pad_token_id=vocab_size - 1, hidden_size=hidden_size,
        intermediate_size=37, layer_norm_eps=1e-05, num_attention_heads=4,
        num_hidden_layers=2, vocab_size=vocab_size, hidden_act='gelu',
        projection_dim=projection_dim, max_position_embeddings=77)
    torch.manual_seed(0)
    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    return cls(config).eval()


def tiny_sd_components(in_channels: int = 4, scheduler: str = 'ddim',
                       tokenizer=None) -> dict:
    """Components of a tiny SD-1.5-shaped pipeline.

    Args:
        in_channels (int): 4 for text-to-image, 9 for an inpainting UNet.
        scheduler (str): ``'ddim'`` or ``'ddpm'`` (training).
        tokenizer: Reuse a tokenizer (default: :func:`make_clip_tokenizer`).

    Returns:
        dict with ``unet``, ``vae``, ``text_encoder``, ``tokenizer``,
        ``scheduler`` (what ``StableDiffusion*Pipeline(**c, safety_checker=None,
        feature_extractor=None)`` takes).
    """
    from diffusers import DDIMScheduler, DDPMScheduler
    tokenizer = tokenizer or make_clip_tokenizer()
    sched_kwargs = dict(beta_start=0.00085, beta_end=0.012,
                        beta_schedule='scaled_linear', num_train_timesteps=1000)
    if scheduler == 'ddpm':
        sched = DDPMScheduler(**sched_kwargs)
    else:
        sched = DDIMScheduler(clip_sample=False, set_alpha_to_one=False,
                              steps_offset=1, **sched_kwargs)
    return dict(unet=tiny_unet(in_channels=in_channels), vae=tiny_vae(),
                text_encoder=tiny_clip_text_encoder(len(tokenizer)),
                tokenizer=tokenizer, scheduler=sched)


def tiny_sdxl_components(in_channels: int = 4) -> dict:
    """Components of a tiny SDXL-shaped pipeline (two text encoders)."""
    from diffusers import EulerDiscreteScheduler
    tokenizer = make_clip_tokenizer()
    text_encoder = tiny_clip_text_encoder(len(tokenizer))
    text_encoder_2 = tiny_clip_text_encoder(len(tokenizer),
                                            with_projection=True)
    sched = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012,
                                   beta_schedule='scaled_linear',
                                   timestep_spacing='leading', steps_offset=1)
    return dict(unet=tiny_unet(in_channels=in_channels, sdxl=True),
                vae=tiny_vae(), text_encoder=text_encoder,
                text_encoder_2=text_encoder_2, tokenizer=tokenizer,
                tokenizer_2=tokenizer, scheduler=sched)


def tiny_sd_pipeline(kind: str = 'text2image', save_dir: Optional[str] = None):
    """A tiny SD-1.5-shaped diffusers pipeline.

    Args:
        kind (str): ``'text2image'`` or ``'inpaint'`` (9-channel UNet).
        save_dir (str, optional): ``save_pretrained`` it here, so code that
            loads from ``pretrained_model_name_or_path`` can be tested.
    """
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline
    if kind == 'inpaint':
        cls, comps = StableDiffusionInpaintPipeline, tiny_sd_components(9)
    elif kind == 'text2image':
        cls, comps = StableDiffusionPipeline, tiny_sd_components(4)
    else:
        raise ValueError(f"kind must be 'text2image' or 'inpaint', got {kind!r}")
    pipe = cls(**comps, safety_checker=None, feature_extractor=None,
               requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    if save_dir is not None:
        pipe.save_pretrained(save_dir, safe_serialization=True)
    return pipe


def tiny_open_clip(embed_dim: int = 32, image_size: int = 32):
    """A tiny open_clip ``CLIP`` model, its eval transform and tokenizer.

    Returns:
        tuple: ``(model, preprocess, tokenizer)`` as
        ``open_clip.create_model_and_transforms`` + ``get_tokenizer`` would.
    """
    import open_clip
    from open_clip.model import CLIP, CLIPTextCfg, CLIPVisionCfg
    torch.manual_seed(0)
    model = CLIP(embed_dim,
                 CLIPVisionCfg(layers=2, width=32, head_width=16, patch_size=8,
                               image_size=image_size),
                 CLIPTextCfg(context_length=77, vocab_size=49408, width=32,
                             heads=2, layers=2)).eval()
    preprocess = open_clip.image_transform(image_size, is_train=False)
    tokenizer = open_clip.SimpleTokenizer(context_length=77)
    return model, preprocess, tokenizer


def random_fid_inception_state(seed: int = 0) -> dict:
    """A state dict of torch-fidelity's FID Inception-v3 with random weights.

    Saved with ``torch.save`` it stands in for the real weights file
    (``synthgen.metrics.fid.INCEPTION_WEIGHTS_URL``, which cannot be
    downloaded here) wherever an ``inception_weights_path`` is read: the
    real architecture and loading path, random features.
    """
    from torch_fidelity import feature_extractor_inceptionv3 as fi
    load, url = torch.nn.Module.load_state_dict, fi.load_state_dict_from_url
    # the constructor loads the released weights: make both loads no-ops
    torch.nn.Module.load_state_dict = lambda self, *a, **k: None
    fi.load_state_dict_from_url = lambda *a, **k: {}
    try:
        torch.manual_seed(seed)
        net = fi.FeatureExtractorInceptionV3('inception-v3-compat', ['2048'])
    finally:
        torch.nn.Module.load_state_dict, fi.load_state_dict_from_url = load, url
    return net.state_dict()


def tiny_rtmdet_checkpoint(path: str, biases: Optional[dict] = None,
                           box_bias: Optional[float] = None,
                           seed: int = 0) -> str:
    """mmdet's RTMDet-tiny (COCO) config and a random-weight checkpoint.

    The classification biases of every level are -8 except ``{COCO index:
    bias}`` (e.g. ``{2: 6.0}``: "car" with high confidence), so a random
    detector gives confident boxes of known classes. Needs mmdet
    (``make detection``).

    Args:
        path (str): the checkpoint written (``state_dict`` + the COCO
            ``dataset_meta``).
        biases (dict, optional): ``{class index: bias}``.
        box_bias (float, optional): bias of the box-distance outputs (in
            strides; e.g. 10: boxes of about 20 strides a side).
        seed (int): torch seed of the random weights.

    Returns:
        str: the config file (inside the mmdet package).
    """
    import os.path as osp

    import mmdet

    from synthgen.utils.compat import keep_mmpretrain_multimodal_off
    keep_mmpretrain_multimodal_off()
    from mmdet.apis import DetInferencer
    config = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs',
                      'rtmdet', 'rtmdet_tiny_8xb32-300e_coco.py')
    torch.manual_seed(seed)
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):  # keep the caller's
        model = DetInferencer(model=config, weights=None, device='cpu',
                              show_progress=False).model
    state = model.state_dict()
    heads = [k for k, v in state.items() if 'cls' in k and
             k.endswith('bias') and tuple(v.shape) == (80,)]
    if not heads:
        raise RuntimeError('tiny_rtmdet_checkpoint: no 80-class '
                           'classification bias in RTMDet-tiny')
    for k in heads:
        state[k] = torch.full((80,), -8.0)
        for idx, bias in (biases or {}).items():
            state[k][int(idx)] = float(bias)
    if box_bias is not None:
        for k, v in state.items():
            if 'reg' in k and k.endswith('bias') and tuple(v.shape) == (4,):
                state[k] = torch.full((4,), float(box_bias))
    torch.save(dict(state_dict=state,
                    meta=dict(dataset_meta=model.dataset_meta)), path)
    return config


def tiny_llava(image_size: int = 32, patch_size: int = 8):
    """A tiny ``LlavaForConditionalGeneration`` and its ``LlavaProcessor``.

    Vision tower: 2-layer CLIP ViT; language model: 2-layer Llama; the
    processor pairs a ``CLIPImageProcessor`` with :func:`make_byte_tokenizer`
    (``<image>`` special token, LLaVA-1.5 style chat template).
    """
    from transformers import (CLIPImageProcessor, CLIPVisionConfig,
                              LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor)
    tok = make_byte_tokenizer(special_tokens=['<image>'])
    image_token_id = tok.convert_tokens_to_ids('<image>')
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=37,
                              num_hidden_layers=2, num_attention_heads=4,
                              image_size=image_size, patch_size=patch_size,
                              projection_dim=32)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=32,
                       intermediate_size=37, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=4,
                       max_position_embeddings=512, pad_token_id=0,
                       bos_token_id=1, eos_token_id=2)
    config = LlavaConfig(vision_config=vision, text_config=text,
                         image_token_index=image_token_id,
                         vision_feature_select_strategy='default',
                         vision_feature_layer=-1, projector_hidden_act='gelu')
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config).eval()
    image_processor = CLIPImageProcessor(
        size={'shortest_edge': image_size},
        crop_size={'height': image_size, 'width': image_size})
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tok,
                               patch_size=patch_size,
                               vision_feature_select_strategy='default',
                               num_additional_image_tokens=1,
                               chat_template=LLAVA_CHAT_TEMPLATE)
    return model, processor


def tiny_blip2(image_size: int = 32, num_query_tokens: int = 4):
    """A tiny ``Blip2ForConditionalGeneration`` (OPT decoder) and its processor."""
    from transformers import (BlipImageProcessor, Blip2Config,
                              Blip2ForConditionalGeneration, Blip2Processor,
                              Blip2QFormerConfig, Blip2VisionConfig, OPTConfig)
    tok = make_byte_tokenizer(special_tokens=['<image>'], chat_template=None)
    vision = Blip2VisionConfig(hidden_size=32, intermediate_size=37,
                               num_hidden_layers=2, num_attention_heads=4,
                               image_size=image_size, patch_size=8)
    qformer = Blip2QFormerConfig(hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=4, intermediate_size=37,
                                 encoder_hidden_size=32, vocab_size=len(tok))
    text = OPTConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                     ffn_dim=37, num_attention_heads=4,
                     max_position_embeddings=128, word_embed_proj_dim=32,
                     pad_token_id=0, bos_token_id=1, eos_token_id=2)
    config = Blip2Config(vision_config=vision.to_dict(),
                         qformer_config=qformer.to_dict(),
                         text_config=text.to_dict(),
                         num_query_tokens=num_query_tokens,
                         image_token_index=tok.convert_tokens_to_ids('<image>'))
    torch.manual_seed(0)
    model = Blip2ForConditionalGeneration(config).eval()
    processor = Blip2Processor(
        image_processor=BlipImageProcessor(
            size={'height': image_size, 'width': image_size}),
        tokenizer=tok, num_query_tokens=num_query_tokens)
    return model, processor


def tiny_llm():
    """A tiny ``LlamaForCausalLM`` and a byte-level tokenizer with a chat template."""
    from transformers import LlamaConfig, LlamaForCausalLM
    tok = make_byte_tokenizer()
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32,
                         intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=1024, pad_token_id=0,
                         bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    return LlamaForCausalLM(config).eval(), tok
