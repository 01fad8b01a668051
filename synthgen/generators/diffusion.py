"""diffusers generators: text-to-image and inpainting (SD 1.5 and SDXL).

Both follow the generator convention: ``gen(requests) -> list[dict(image,
mask, meta)]``; requests run in batches of ``batch_size`` and each request has
its own ``torch.Generator`` seeded with ``request['seed']``, so an image does
not depend on the batch it was drawn in. LoRA adapters are switched per
request (``request['adapter']``) and textual-inversion tokens are loaded once.
The pipeline is built lazily (first call or :meth:`load`), so configs can be
built and checked without weights.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from synthgen.registry import GENERATORS
from synthgen.utils.image import read_rgb
from .adapters import activate_lora, load_lora_adapters, load_textual_inversion

__all__ = ['DiffusersText2Image', 'DiffusersInpainter', 'make_scheduler',
           'SCHEDULERS']

# short name -> (diffusers class, extra config)
SCHEDULERS: Dict[str, tuple] = {
    'ddim': ('DDIMScheduler', {}),
    'ddpm': ('DDPMScheduler', {}),
    'pndm': ('PNDMScheduler', {}),
    'lms': ('LMSDiscreteScheduler', {}),
    'euler': ('EulerDiscreteScheduler', {}),
    'euler_a': ('EulerAncestralDiscreteScheduler', {}),
    'heun': ('HeunDiscreteScheduler', {}),
    'unipc': ('UniPCMultistepScheduler', {}),
    'dpm': ('DPMSolverMultistepScheduler', dict(algorithm_type='dpmsolver')),
    'dpm++': ('DPMSolverMultistepScheduler',
              dict(algorithm_type='dpmsolver++')),
    'dpmsolver++': ('DPMSolverMultistepScheduler',
                    dict(algorithm_type='dpmsolver++')),
    'dpm++_karras': ('DPMSolverMultistepScheduler',
                     dict(algorithm_type='dpmsolver++',
                          use_karras_sigmas=True)),
    'dpm++_sde': ('DPMSolverMultistepScheduler',
                  dict(algorithm_type='sde-dpmsolver++')),
}

_DTYPES = {'fp32': torch.float32, 'float32': torch.float32,
           'fp16': torch.float16, 'float16': torch.float16,
           'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16}


def make_scheduler(name: str, base_config, **overrides):
    """Build a diffusers scheduler by short name or class name.

    Args:
        name (str): A key of :data:`SCHEDULERS` (``'dpm++'`` is DPM-Solver++)
            or a diffusers scheduler class name (``'DPMSolverMultistepScheduler'``).
        base_config: The pipeline's current ``scheduler.config`` (keeps the
            model's beta schedule and prediction type).
        **overrides: Extra scheduler config values.
    """
    import diffusers
    key = name.lower()
    if key in SCHEDULERS:
        cls_name, extra = SCHEDULERS[key]
    elif hasattr(diffusers, name) and name.endswith('Scheduler'):
        cls_name, extra = name, {}
    else:
        raise KeyError(f'unknown scheduler {name!r}; use one of '
                       f'{sorted(SCHEDULERS)} or a diffusers scheduler class '
                       'name')
    cls = getattr(diffusers, cls_name)
    return cls.from_config(base_config, **{**extra, **overrides})


def _to_pil_rgb(img, key: str) -> Image.Image:
    if isinstance(img, Image.Image):
        return img.convert('RGB')
    if isinstance(img, (str, os.PathLike)):
        if not os.path.isfile(img):
            raise FileNotFoundError(f'request[{key!r}]: no image file {img!r}')
        return Image.fromarray(read_rgb(img))
    arr = np.asarray(img)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, -1)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f'request[{key!r}] must be an HxWx3 uint8 image, '
                         f'got shape {arr.shape}')
    return Image.fromarray(arr.astype(np.uint8))


def _to_mask(mask, size) -> np.ndarray:
    """Mask as HxW bool (True = repaint) at ``size`` = (W, H)."""
    if isinstance(mask, (str, os.PathLike)):
        mask = Image.open(mask)
    if isinstance(mask, Image.Image):
        mask = np.asarray(mask.convert('L'))
    mask = np.asarray(mask)
    if mask.ndim == 3:
        mask = mask.max(-1)
    if mask.ndim != 2:
        raise ValueError(f"request['mask'] must be HxW, got {mask.shape}")
    if (mask.shape[1], mask.shape[0]) != tuple(size):
        mask = np.asarray(Image.fromarray((mask > 0).astype(np.uint8) * 255)
                          .resize(size, Image.NEAREST))
    return mask > 0


class _DiffusersGenerator:
    """Shared loading, batching, seeding and adapter switching."""

    _task = ''  # 'text2image' | 'inpaint'

    def __init__(self,
                 pretrained_model_name_or_path: Optional[str] = None,
                 components: Optional[dict] = None,
                 pipeline=None,
                 pipeline_type: str = 'auto',
                 scheduler: Optional[str] = None,
                 scheduler_kwargs: Optional[dict] = None,
                 num_inference_steps: int = 50,
                 guidance_scale: float = 7.5,
                 height: int = 512,
                 width: int = 512,
                 batch_size: int = 1,
                 dtype: str = 'fp32',
                 device: Optional[str] = None,
                 compile: bool = False,
                 compile_kwargs: Optional[dict] = None,
                 lora=None,
                 default_adapter: Optional[str] = None,
                 textual_inversion=None,
                 negative_prompt: str = '',
                 local_files_only: bool = True,
                 variant: Optional[str] = None,
                 call_kwargs: Optional[dict] = None):
        if pretrained_model_name_or_path is None and components is None \
                and pipeline is None:
            raise ValueError(
                f'{type(self).__name__} needs one of pretrained_model_name_or_'
                'path (a hub id or a local diffusers folder), components '
                '(dict of built unet/vae/text_encoder/tokenizer/scheduler) '
                'or pipeline (a built diffusers pipeline)')
        if dtype not in _DTYPES:
            raise ValueError(f'dtype must be one of {sorted(_DTYPES)}, got '
                             f'{dtype!r}')
        if pipeline_type not in ('auto', 'sd', 'sdxl'):
            raise ValueError("pipeline_type must be 'auto', 'sd' or 'sdxl', "
                             f'got {pipeline_type!r}')
        if int(batch_size) < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.pretrained_model_name_or_path = pretrained_model_name_or_path
        self.components = components
        self.pipeline_type = pipeline_type
        self.scheduler = scheduler
        self.scheduler_kwargs = scheduler_kwargs or {}
        self.num_inference_steps = int(num_inference_steps)
        self.guidance_scale = float(guidance_scale)
        self.height, self.width = int(height), int(width)
        self.batch_size = int(batch_size)
        self.dtype = _DTYPES[dtype]
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.compile = compile
        self.compile_kwargs = compile_kwargs or {}
        self.lora = lora
        self.default_adapter = default_adapter
        self.textual_inversion = textual_inversion
        self.negative_prompt = negative_prompt
        self.local_files_only = local_files_only
        self.variant = variant
        self.call_kwargs = call_kwargs or {}
        self._pipe = pipeline
        self._loaded = False
        self.lora_scales: Dict[str, float] = {}
        self.ti_tokens: List[str] = []

    # ------------------------------------------------------------- loading
    def _pipeline_class(self, sdxl: bool):
        import diffusers
        names = {('text2image', False): 'StableDiffusionPipeline',
                 ('text2image', True): 'StableDiffusionXLPipeline',
                 ('inpaint', False): 'StableDiffusionInpaintPipeline',
                 ('inpaint', True): 'StableDiffusionXLInpaintPipeline'}
        return getattr(diffusers, names[(self._task, sdxl)])

    def _is_sdxl_folder(self, path: str) -> bool:
        index = os.path.join(path, 'model_index.json')
        if os.path.isfile(index):
            import json
            with open(index) as f:
                return 'text_encoder_2' in json.load(f)
        return 'xl' in path.lower()

    def _build_pipeline(self):
        if self.components is not None:
            comps = dict(self.components)
            sdxl = self.pipeline_type == 'sdxl' or (
                self.pipeline_type == 'auto' and 'text_encoder_2' in comps)
            cls = self._pipeline_class(sdxl)
            if not sdxl:
                comps.setdefault('safety_checker', None)
                comps.setdefault('feature_extractor', None)
                comps.setdefault('requires_safety_checker', False)
            return cls(**comps)
        path = str(self.pretrained_model_name_or_path)
        sdxl = self.pipeline_type == 'sdxl' or (
            self.pipeline_type == 'auto' and self._is_sdxl_folder(path))
        cls = self._pipeline_class(sdxl)
        kwargs = dict(dtype=self.dtype,
                      local_files_only=self.local_files_only)
        if self.variant:
            kwargs['variant'] = self.variant
        if not sdxl:
            kwargs.update(safety_checker=None, requires_safety_checker=False)
        try:
            if os.path.isfile(path):  # single-file .safetensors / .ckpt
                return cls.from_single_file(path, **kwargs)
            return cls.from_pretrained(path, **kwargs)
        except (OSError, ValueError, EnvironmentError) as err:
            hint = ('download it first, e.g. `hf download '
                    f'{path} --local-dir <folder>`, and set '
                    'pretrained_model_name_or_path to that folder, or set '
                    'local_files_only=False to allow downloading'
                    if self.local_files_only else
                    'check the hub id / folder and your network')
            raise FileNotFoundError(
                f'{type(self).__name__}: cannot load pretrained_model_name_'
                f'or_path={path!r} as a {cls.__name__} ({err}); {hint}') \
                from err

    def load(self):
        """Build the pipeline, set scheduler/dtype/device, load adapters."""
        if self._loaded:
            return self._pipe
        pipe = self._pipe if self._pipe is not None else self._build_pipeline()
        if self.scheduler:
            pipe.scheduler = make_scheduler(self.scheduler,
                                            pipe.scheduler.config,
                                            **self.scheduler_kwargs)
        dtypes = {m.dtype for m in pipe.components.values()
                  if isinstance(m, torch.nn.Module)}
        if dtypes != {self.dtype}:
            pipe.to(self.device, self.dtype)
        else:
            pipe.to(self.device)
        pipe.set_progress_bar_config(disable=True)
        if self.textual_inversion:
            self.ti_tokens = load_textual_inversion(pipe,
                                                    self.textual_inversion)
        if self.lora:
            self.lora_scales = load_lora_adapters(
                pipe, self.lora, local_files_only=self.local_files_only)
        if self.compile:
            pipe.unet = torch.compile(pipe.unet, **self.compile_kwargs)
        self._pipe, self._loaded = pipe, True
        return pipe

    @property
    def pipe(self):
        """The diffusers pipeline (built on first access)."""
        return self.load()

    # ------------------------------------------------------------- running
    def __call__(self, requests: Sequence[dict]) -> List[dict]:
        """Generate one image per request, in batches of ``batch_size``."""
        pipe = self.pipe
        requests = list(requests)
        for i, req in enumerate(requests):
            if 'prompt' not in req or 'seed' not in req:
                raise KeyError(f'request {i} needs "prompt" and "seed", has '
                               f'{sorted(req)}')
        results: List[Optional[dict]] = [None] * len(requests)
        for start in range(0, len(requests), self.batch_size):
            idxs = list(range(start, min(start + self.batch_size,
                                         len(requests))))
            # one pipeline call per adapter: LoRA is set per call, not per row
            groups: Dict[Any, List[int]] = {}
            for i in idxs:
                groups.setdefault(self._adapter(requests[i]), []).append(i)
            for adapter, group in groups.items():
                activate_lora(pipe, adapter, self.lora_scales)
                outs = self._generate(pipe, [requests[i] for i in group])
                for i, out in zip(group, outs):
                    out['meta'].update(self._meta(requests[i]))
                    results[i] = out
        return results

    def _adapter(self, req: dict) -> Optional[str]:
        """The request's LoRA adapter (``default_adapter`` when it names none;
        ``adapter=None`` explicitly in the request means the base model)."""
        if 'adapter' in req:
            return req['adapter']
        return self.default_adapter

    def _common_kwargs(self, reqs: List[dict]) -> dict:
        return dict(
            prompt=[str(r['prompt']) for r in reqs],
            negative_prompt=[str(r.get('negative_prompt') or
                                 self.negative_prompt or '') for r in reqs],
            num_inference_steps=self.num_inference_steps,
            guidance_scale=self.guidance_scale,
            height=self.height, width=self.width,
            # CPU generators: the same seed gives the same image on any device
            generator=[torch.Generator('cpu').manual_seed(int(r['seed']))
                       for r in reqs],
            output_type='np', **self.call_kwargs)

    def _meta(self, req: dict) -> dict:
        return dict(generator=type(self).__name__, prompt=req['prompt'],
                    seed=int(req['seed']), adapter=self._adapter(req),
                    negative_prompt=req.get('negative_prompt') or
                    self.negative_prompt,
                    steps=self.num_inference_steps,
                    guidance_scale=self.guidance_scale,
                    scheduler=type(self.pipe.scheduler).__name__,
                    model=str(self.pretrained_model_name_or_path or
                              'components'))

    @staticmethod
    def _to_uint8(images) -> List[np.ndarray]:
        return [np.clip(np.round(np.asarray(im, dtype=np.float32) * 255), 0,
                        255).astype(np.uint8) for im in images]

    def _generate(self, pipe, reqs: List[dict]) -> List[dict]:
        raise NotImplementedError


@GENERATORS.register_module()
class DiffusersText2Image(_DiffusersGenerator):
    """Text-to-image with a diffusers Stable Diffusion 1.5 or SDXL pipeline.

    Args:
        pretrained_model_name_or_path (str, optional): Hub id or local
            diffusers folder (or single ``.safetensors`` file); loaded with
            ``local_files_only`` unless ``local_files_only=False``.
        components (dict, optional): Already built ``unet``, ``vae``,
            ``text_encoder``, ``tokenizer``, ``scheduler`` (+ ``_2`` for SDXL).
        pipeline (optional): An already built diffusers pipeline.
        pipeline_type (str): ``'auto'``, ``'sd'`` or ``'sdxl'``.
        scheduler (str, optional): Scheduler by name, e.g. ``'dpm++'``
            (DPM-Solver++), ``'ddim'``, ``'euler_a'`` or a class name.
        scheduler_kwargs (dict): Extra scheduler config.
        num_inference_steps (int), guidance_scale (float), height, width (int):
            Sampling settings.
        batch_size (int): Requests per pipeline call.
        dtype (str): ``'fp32'``, ``'fp16'`` or ``'bf16'``.
        device (str, optional): Default ``'cuda'`` when available.
        compile (bool): ``torch.compile`` the UNet (``compile_kwargs``).
        lora (dict | list, optional): Named LoRA adapters, see
            :func:`~synthgen.generators.adapters.load_lora_adapters`;
            ``request['adapter']`` picks one per request (none: base model).
        default_adapter (str, optional): Adapter for requests that name none
            (a fine-tuned model used for every image, e.g. Vehicle-Diff).
        textual_inversion (optional): Textual-inversion file(s), see
            :func:`~synthgen.generators.adapters.load_textual_inversion`.
        negative_prompt (str): Default negative prompt.
        local_files_only (bool): Never download unless False.
        variant (str, optional): Weight variant, e.g. ``'fp16'``.
        call_kwargs (dict, optional): Extra pipeline call arguments.

    Example:
        >>> gen = DiffusersText2Image(
        ...     pretrained_model_name_or_path='runwayml/stable-diffusion-v1-5',
        ...     scheduler='dpm++', num_inference_steps=25, height=512,
        ...     width=256, batch_size=8, dtype='fp16',
        ...     lora=dict(ir='work_dirs/dive/adapters/ir'))
        >>> out = gen([dict(prompt='a ir photo of <p1> person', seed=0,
        ...                 adapter='ir')])
        >>> out[0]['image'].shape
        (512, 256, 3)
    """

    _task = 'text2image'

    def _generate(self, pipe, reqs):
        images = pipe(**self._common_kwargs(reqs)).images
        return [dict(image=im, mask=None, meta={})
                for im in self._to_uint8(images)]


@GENERATORS.register_module()
class DiffusersInpainter(_DiffusersGenerator):
    """Inpainting with diffusers, composited back onto the source image.

    Works with 9-channel inpainting UNets and with plain 4-channel
    text-to-image UNets (diffusers then blends the noised source latents
    outside the mask at every step). The result is resized back to the
    source size and composited as ``mask * generated + (1 - mask) * source``,
    so pixels outside the mask are the source's own.

    Each request needs ``image`` (HxWx3 uint8, PIL image or path) and
    ``mask`` (HxW, nonzero = repaint). Other arguments are those of
    :class:`DiffusersText2Image`, plus:

    Args:
        strength (float): How much the masked region is re-noised (1 = fully).
        mask_blur (int): Gaussian blur radius (pixels, source scale) of the
            compositing mask; 0 keeps a hard edge.
        composite (bool): Composite onto the source (default True); False
            returns the raw pipeline output resized to the source size.
        keep_size (bool): Return the source size (default) instead of
            ``height x width``.

    Example:
        >>> gen = DiffusersInpainter(
        ...     pretrained_model_name_or_path='runwayml/stable-diffusion-inpainting',
        ...     height=768, width=256, num_inference_steps=50,
        ...     guidance_scale=7.5, batch_size=8, dtype='fp16')
        >>> out = gen([dict(prompt='a red jacket and blue jeans', seed=3,
        ...                 image=img, mask=clothes_mask)])
    """

    _task = 'inpaint'

    def __init__(self, *args, strength: float = 1.0, mask_blur: int = 0,
                 composite: bool = True, keep_size: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.strength = float(strength)
        self.mask_blur = int(mask_blur)
        self.composite = composite
        self.keep_size = keep_size

    def _generate(self, pipe, reqs):
        sources, masks = [], []
        for i, r in enumerate(reqs):
            for key in ('image', 'mask'):
                if r.get(key) is None:
                    raise KeyError(f'DiffusersInpainter: request needs '
                                   f'{key!r} (prompt {r["prompt"]!r})')
            src = _to_pil_rgb(r['image'], 'image')
            sources.append(src)
            masks.append(_to_mask(r['mask'], src.size))
        size = (self.width, self.height)
        kwargs = self._common_kwargs(reqs)
        kwargs.update(
            image=[s.resize(size, Image.BICUBIC) for s in sources],
            mask_image=[Image.fromarray(m.astype(np.uint8) * 255)
                        .resize(size, Image.NEAREST) for m in masks],
            strength=self.strength)
        generated = self._to_uint8(pipe(**kwargs).images)
        outs = []
        for src, m, gen in zip(sources, masks, generated):
            out_size = src.size if self.keep_size else size
            gen = np.asarray(Image.fromarray(gen).resize(out_size,
                                                         Image.BICUBIC))
            if out_size != src.size:
                src = src.resize(out_size, Image.BICUBIC)
                m = _to_mask(m.astype(np.uint8), out_size)
            if self.composite:
                gen = self._composite(np.asarray(src), gen, m)
            outs.append(dict(image=gen, mask=m.astype(np.uint8) * 255,
                             meta=dict(strength=self.strength,
                                       mask_blur=self.mask_blur)))
        return outs

    def _composite(self, src: np.ndarray, gen: np.ndarray,
                   mask: np.ndarray) -> np.ndarray:
        """``mask * gen + (1 - mask) * src`` with an optionally soft mask."""
        if self.mask_blur > 0:
            from PIL import ImageFilter
            soft = Image.fromarray(mask.astype(np.uint8) * 255).filter(
                ImageFilter.GaussianBlur(self.mask_blur))
            alpha = np.asarray(soft, dtype=np.float32)[..., None] / 255.0
        else:
            alpha = mask.astype(np.float32)[..., None]
        out = alpha * gen.astype(np.float32) + (1 - alpha) * src.astype(
            np.float32)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
