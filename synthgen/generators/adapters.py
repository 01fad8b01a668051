"""LoRA and textual-inversion adapters for diffusers pipelines.

LoRA: several named adapters are loaded into one pipeline at once (diffusers'
peft backend) and one is switched on per request, e.g. one adapter per
modality or per camera. Textual inversion: one learned token per identity.

File formats (what :mod:`synthgen.finetune` writes and the generators read):

* LoRA: a folder (or file) written by ``StableDiffusionPipeline.save_lora_weights``
  (``pytorch_lora_weights.safetensors``), loadable by
  ``pipe.load_lora_weights(path, adapter_name=name)``.
* Textual inversion: a safetensors file mapping ``token -> (dim,)`` or
  ``(n_vectors, dim)`` tensors. With one token it is exactly diffusers' own
  format (``pipe.load_textual_inversion(path)``); with many tokens
  :func:`load_textual_inversion` splits it into one state dict per token.

Example:
    >>> lora = {'visible': 'work_dirs/lora_vis', 'infrared': 'work_dirs/lora_ir'}
    >>> scales = load_lora_adapters(pipe, lora)
    >>> activate_lora(pipe, 'infrared', scales)     # one adapter on
    >>> activate_lora(pipe, None, scales)           # base model only
    >>> load_textual_inversion(pipe, 'work_dirs/ti/learned_embeds.safetensors')
"""
from __future__ import annotations

import os
from typing import Dict, Mapping, Optional, Union

import torch

__all__ = [
    'load_lora_adapters', 'activate_lora', 'load_textual_inversion',
    'read_textual_inversion', 'save_textual_inversion', 'save_lora_adapter',
    'LORA_WEIGHT_NAME', 'TI_WEIGHT_NAME'
]

LORA_WEIGHT_NAME = 'pytorch_lora_weights.safetensors'
TI_WEIGHT_NAME = 'learned_embeds.safetensors'


def _normalise_lora_spec(lora) -> Dict[str, dict]:
    """``{name: path}`` / ``{name: dict(path=..)}`` / ``[dict(name=.., path=..)]``
    -> ``{name: dict(path=.., weight_name=.., scale=..)}``."""
    if lora is None:
        return {}
    items = []
    if isinstance(lora, Mapping):
        for name, spec in lora.items():
            spec = dict(path=spec) if isinstance(spec, (str, os.PathLike)) \
                else dict(spec)
            spec.setdefault('name', name)
            items.append(spec)
    elif isinstance(lora, (list, tuple)):
        items = [dict(s) for s in lora]
    else:
        raise TypeError('lora must be a dict {adapter_name: path or '
                        'dict(path=..., scale=...)} or a list of '
                        f'dict(name=..., path=...), got {type(lora).__name__}')
    out = {}
    for spec in items:
        if 'name' not in spec or 'path' not in spec:
            raise KeyError(f'lora entry {spec!r} needs the keys "name" and '
                           '"path"')
        name = str(spec.pop('name'))
        if name in out:
            raise ValueError(f'lora adapter name {name!r} is given twice')
        spec.setdefault('scale', 1.0)
        out[name] = spec
    return out


def load_lora_adapters(pipe, lora, local_files_only: bool = True
                       ) -> Dict[str, float]:
    """Load several named LoRA adapters into ``pipe`` (all inactive after).

    Args:
        pipe: A diffusers pipeline with ``load_lora_weights``.
        lora (dict | list): ``{name: path}``, ``{name: dict(path=...,
            weight_name=None, scale=1.0)}`` or ``[dict(name=..., path=...)]``.
            ``path`` is a folder or a ``.safetensors`` file.
        local_files_only (bool): Passed to diffusers (hub ids need a cache).

    Returns:
        dict: adapter name -> scale, for :func:`activate_lora`.
    """
    specs = _normalise_lora_spec(lora)
    scales = {}
    for name, spec in specs.items():
        path = str(spec['path'])
        kwargs = {}
        if os.path.isfile(path):
            kwargs['weight_name'] = os.path.basename(path)
            path = os.path.dirname(path) or '.'
        elif spec.get('weight_name'):
            kwargs['weight_name'] = spec['weight_name']
        if not os.path.exists(path) and local_files_only:
            raise FileNotFoundError(
                f'lora adapter {name!r}: path {spec["path"]!r} does not exist. '
                'Train one with tools/finetune.py (it writes '
                f'<work_dir>/adapters/<name>/{LORA_WEIGHT_NAME}) or set '
                'local_files_only=False to fetch a hub id.')
        pipe.load_lora_weights(path, adapter_name=name,
                               local_files_only=local_files_only, **kwargs)
        scales[name] = float(spec['scale'])
    if scales:
        activate_lora(pipe, None, scales)
    return scales


def activate_lora(pipe, name: Optional[str], scales: Mapping[str, float]):
    """Switch LoRA adapter ``name`` on (``None``: no adapter, base weights).

    Args:
        pipe: The pipeline the adapters were loaded into.
        name (str | None): Adapter to use for the next call.
        scales (Mapping[str, float]): Loaded adapters and their scales.
    """
    if not scales:
        if name is not None:
            raise KeyError(f'request asks for LoRA adapter {name!r} but the '
                           'generator has no adapters; set lora=dict('
                           f'{name}="path/to/adapter") in its config')
        return
    if name is None:
        pipe.disable_lora()
        return
    if name not in scales:
        raise KeyError(f'unknown LoRA adapter {name!r}; loaded adapters: '
                       f'{sorted(scales)}')
    pipe.enable_lora()
    pipe.set_adapters([name], adapter_weights=[scales[name]])


def read_textual_inversion(path: Union[str, os.PathLike]
                           ) -> Dict[str, torch.Tensor]:
    """Read a textual-inversion file into ``{token: (n_vectors, dim) tensor}``.

    Reads our multi-token safetensors files, diffusers' single-token files
    (``.safetensors`` or ``.bin``) and A1111 files (``string_to_param``).
    A folder is searched for ``learned_embeds.safetensors``.
    """
    path = str(path)
    if os.path.isdir(path):
        path = os.path.join(path, TI_WEIGHT_NAME)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'textual-inversion file {path!r} not found; train one with '
            f'tools/finetune.py (it writes <work_dir>/adapters/{TI_WEIGHT_NAME})')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        state = torch.load(path, map_location='cpu', weights_only=True)
    if 'string_to_param' in state:  # A1111 format, one token named by file
        token = os.path.splitext(os.path.basename(path))[0]
        state = {token: next(iter(state['string_to_param'].values()))}
    out = {}
    for token, emb in state.items():
        emb = emb.detach().float()
        out[token] = emb[None] if emb.dim() == 1 else emb
    return out


def save_textual_inversion(path: Union[str, os.PathLike],
                           embeddings: Mapping[str, torch.Tensor]) -> str:
    """Write ``{token: (dim,) or (n, dim)}`` as one safetensors file."""
    from safetensors.torch import save_file
    path = str(path)
    if os.path.isdir(path) or not path.endswith('.safetensors'):
        path = os.path.join(path, TI_WEIGHT_NAME)
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    save_file({t: e.detach().float().cpu().contiguous()
               for t, e in embeddings.items()}, path)
    return path


def load_textual_inversion(pipe, spec) -> list:
    """Add textual-inversion tokens to ``pipe``'s tokenizer and text encoder.

    Args:
        pipe: A diffusers pipeline with ``load_textual_inversion``.
        spec: A file or folder (see :func:`read_textual_inversion`), a list of
            them, or ``{token: path}`` to rename each file's single token.

    Returns:
        list[str]: The tokens added.
    """
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        pairs = []
        for token, p in spec.items():
            embs = read_textual_inversion(p)
            if len(embs) != 1:
                raise ValueError(f'textual_inversion {token!r}: {p} holds '
                                 f'{len(embs)} tokens; give it without a '
                                 'token name to load all of them')
            pairs.append((token, next(iter(embs.values()))))
    else:
        paths = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
        pairs = [kv for p in paths for kv in read_textual_inversion(p).items()]
    if not pairs:
        return []
    text_encoder = pipe.text_encoder
    dtype = text_encoder.get_input_embeddings().weight.dtype
    dicts = [{tok: emb.to(dtype)} for tok, emb in pairs]
    tokens = [tok for tok, _ in pairs]
    # diffusers' loader accepts one state dict per token
    pipe.load_textual_inversion(dicts, token=tokens)
    return tokens


def save_lora_adapter(unet, adapter_name: str, save_dir: str,
                      pipeline_cls=None) -> str:
    """Save one peft LoRA adapter of ``unet`` in diffusers' LoRA format.

    The rank/alpha metadata is stored too, so ``pipe.load_lora_weights``
    rebuilds the adapter with the trained scaling.

    Args:
        unet: A diffusers UNet with a peft adapter named ``adapter_name``.
        adapter_name (str): Which adapter to save.
        save_dir (str): Output folder (``pytorch_lora_weights.safetensors``).
        pipeline_cls: Pipeline class whose ``save_lora_weights`` is used
            (default ``StableDiffusionPipeline``).

    Returns:
        str: The folder written.
    """
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft.utils import get_peft_model_state_dict
    pipeline_cls = pipeline_cls or StableDiffusionPipeline
    state = get_peft_model_state_dict(unet, adapter_name=adapter_name)
    state = convert_state_dict_to_diffusers(state)
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    config = unet.peft_config[adapter_name]
    metadata = config.to_dict()
    metadata = {k: (sorted(v) if isinstance(v, set) else v)
                for k, v in metadata.items()}
    os.makedirs(save_dir, exist_ok=True)
    pipeline_cls.save_lora_weights(save_dir, unet_lora_layers=state,
                                   safe_serialization=True,
                                   weight_name=LORA_WEIGHT_NAME,
                                   unet_lora_adapter_metadata=metadata)
    return save_dir
