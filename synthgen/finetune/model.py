"""LoRA / textual-inversion fine-tuning of a text-to-image UNet (mmengine model)."""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from synthgen.generators.adapters import (TI_WEIGHT_NAME, save_lora_adapter,
                                          save_textual_inversion)
from .registry import MODELS

DEFAULT_TARGETS = ('to_q', 'to_k', 'to_v', 'to_out.0')
#: Attention projections of the UNet's decoder (``up_blocks``) only, as a
#: peft regex (full match): Vehicle-Diff's "additional weights in the decoder
#: part" (Sec. III-B).
DECODER_TARGETS = (r'.*up_blocks\.\d+\.attentions\.\d+\.transformer_blocks'
                   r'\.\d+\.attn[12]\.(to_q|to_k|to_v|to_out\.0)')


def lora_target_modules(targets):
    """peft ``target_modules`` from a config value.

    A string is a regular expression matched against full module names (peft's
    rule; ``'decoder'`` is a shorthand for :data:`DECODER_TARGETS`); a list
    or tuple names module-name suffixes (``['to_q', 'to_v']``). A string is
    never split into characters.
    """
    if targets is None:
        return list(DEFAULT_TARGETS)
    if isinstance(targets, str):
        return DECODER_TARGETS if targets == 'decoder' else targets
    if isinstance(targets, (list, tuple)) and targets and all(
            isinstance(t, str) for t in targets):
        return list(targets)
    raise TypeError('model.lora.target_modules must be a regex string, '
                    "'decoder' or a non-empty list of module names, got "
                    f'{targets!r}')


def _load_components(path: str, local_files_only: bool) -> dict:
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import (CLIPTextModel, CLIPTextModelWithProjection,
                              CLIPTokenizer)
    kw = dict(local_files_only=local_files_only)
    try:
        comps = {}
        if osp.isdir(osp.join(path, 'text_encoder_2')):  # SDXL
            comps = dict(
                text_encoder_2=CLIPTextModelWithProjection.from_pretrained(
                    path, subfolder='text_encoder_2', **kw),
                tokenizer_2=CLIPTokenizer.from_pretrained(
                    path, subfolder='tokenizer_2', **kw))
        return dict(comps,
            unet=UNet2DConditionModel.from_pretrained(path, subfolder='unet',
                                                      **kw),
            vae=AutoencoderKL.from_pretrained(path, subfolder='vae', **kw),
            text_encoder=CLIPTextModel.from_pretrained(
                path, subfolder='text_encoder', **kw),
            tokenizer=CLIPTokenizer.from_pretrained(path,
                                                    subfolder='tokenizer', **kw),
            scheduler=DDPMScheduler.from_pretrained(path,
                                                    subfolder='scheduler', **kw))
    except (OSError, ValueError, EnvironmentError) as err:
        raise FileNotFoundError(
            f'DiffusionLoRAModel: cannot load model.pretrained_model_name_or_'
            f'path={path!r} ({err}). Download the diffusers folder first '
            f'(e.g. `hf download {path} --local-dir <folder>`) and set '
            'model.pretrained_model_name_or_path to it, or set '
            'model.local_files_only=False.') from err


def _read_tokens(ti: dict) -> List[str]:
    if ti.get('tokens'):
        return [str(t) for t in ti['tokens']]
    if ti.get('tokens_file'):
        with open(ti['tokens_file']) as f:
            text = f.read()
        try:
            return [str(t) for t in json.loads(text)]
        except json.JSONDecodeError:
            return [t.strip() for t in text.splitlines() if t.strip()]
    if ti.get('num_tokens'):
        template = ti.get('token_template', '<p{}>')
        return [template.format(i) for i in range(int(ti['num_tokens']))]
    raise KeyError('model.textual_inversion needs "tokens" (list), '
                   '"tokens_file" (JSON list or one token a line) or '
                   '"num_tokens" (+ "token_template", default "<p{}>")')


@MODELS.register_module()
class DiffusionLoRAModel(BaseModel):
    """Stable Diffusion UNet + frozen VAE/text encoder, trained by denoising.

    Trains peft LoRA branches on the UNet's attention projections and/or new
    textual-inversion tokens (only their embedding rows), with the MSE between
    the predicted and the true noise (or velocity, for v-prediction models).
    SDXL (components with ``text_encoder_2`` / ``tokenizer_2``, or an SDXL
    folder) conditions on both text encoders' penultimate hidden states, the
    second encoder's pooled embedding and the size/crop ``time_ids`` (the
    training resolution, no crop). Several named LoRA adapters can be trained together: each sample trains
    the adapter its data sample names (``data_samples[i]['adapter']``), which
    is DiVE's "one LoRA branch per modality" with identity tokens shared
    across modalities.

    Args:
        pretrained_model_name_or_path (str, optional): Diffusers folder / hub
            id holding ``unet``, ``vae``, ``text_encoder``, ``tokenizer`` and
            ``scheduler`` subfolders.
        components (dict, optional): Already built ``unet``, ``vae``,
            ``text_encoder``, ``tokenizer``, ``scheduler`` (a training
            scheduler such as DDPM); used instead of loading.
        lora (dict, optional): ``rank`` (4), ``alpha`` (= rank), ``dropout``
            (0), ``target_modules`` (a list of module names, default ``to_q,
            to_k, to_v, to_out.0`` everywhere; a regex string; or
            ``'decoder'``: the up-blocks' attention only, see
            :func:`lora_target_modules`), ``adapter_names``
            (``['default']``). ``None``: no LoRA.
        textual_inversion (dict, optional): ``tokens`` / ``tokens_file`` /
            ``num_tokens`` + ``token_template``, and ``initializer_token``
            (``'person'``): new tokens start from its embedding.
        noise_offset (float): Offset-noise strength (0 = off).
        local_files_only (bool): Never download weights.
        data_preprocessor (dict, optional): mmengine data preprocessor.

    Example:
        >>> model = dict(type='DiffusionLoRAModel',
        ...              pretrained_model_name_or_path='models/sd15',
        ...              lora=dict(rank=128, adapter_names=['vis', 'ir']),
        ...              textual_inversion=dict(num_tokens=395))
    """

    def __init__(self,
                 pretrained_model_name_or_path: Optional[str] = None,
                 components: Optional[dict] = None,
                 lora: Optional[dict] = dict(rank=4),
                 textual_inversion: Optional[dict] = None,
                 noise_offset: float = 0.0,
                 local_files_only: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if components is None:
            if pretrained_model_name_or_path is None:
                raise ValueError('DiffusionLoRAModel needs model.pretrained_'
                                 'model_name_or_path or model.components')
            components = _load_components(pretrained_model_name_or_path,
                                          local_files_only)
        missing = {'unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'} \
            - set(components)
        if missing:
            raise KeyError(f'DiffusionLoRAModel: components lacks '
                           f'{sorted(missing)}')
        if lora is None and textual_inversion is None:
            raise ValueError('DiffusionLoRAModel: nothing to train; set '
                             'model.lora and/or model.textual_inversion')
        self.unet = components['unet']
        self.vae = components['vae']
        self.text_encoder = components['text_encoder']
        self.tokenizer = components['tokenizer']
        self.noise_scheduler = components['scheduler']
        self.noise_offset = float(noise_offset)
        self.sdxl = 'text_encoder_2' in components
        if self.sdxl:
            if 'tokenizer_2' not in components:
                raise KeyError('DiffusionLoRAModel: SDXL components need '
                               'tokenizer_2 beside text_encoder_2')
            if textual_inversion is not None:
                raise ValueError('DiffusionLoRAModel: textual inversion is '
                                 'implemented for SD-1.x (one text encoder) '
                                 'only; SDXL takes LoRA')
            self.text_encoder_2 = components['text_encoder_2']
            self.tokenizer_2 = components['tokenizer_2']
        frozen = [self.unet, self.vae, self.text_encoder]
        if self.sdxl:
            frozen.append(self.text_encoder_2)
        for module in frozen:
            module.requires_grad_(False)

        self.adapter_names: List[str] = []
        if lora is not None:
            self._add_lora(dict(lora))
        self.ti_tokens: List[str] = []
        if textual_inversion is not None:
            self._add_tokens(dict(textual_inversion))

    # ----------------------------------------------------------- set-up
    def _add_lora(self, cfg: dict):
        from peft import LoraConfig
        rank = int(cfg.get('rank', 4))
        names = [str(n) for n in cfg.get('adapter_names', ['default'])]
        if not names or len(set(names)) != len(names):
            raise ValueError(f'model.lora.adapter_names must be distinct '
                             f'names, got {names}')
        for name in names:
            self.unet.add_adapter(LoraConfig(
                r=rank, lora_alpha=float(cfg.get('alpha', rank)),
                lora_dropout=float(cfg.get('dropout', 0.0)),
                init_lora_weights='gaussian',
                target_modules=lora_target_modules(
                    cfg.get('target_modules'))),
                adapter_name=name)
        self.adapter_names = names
        self._active = None
        self._activate(names[0])

    def _lora_parameters(self):
        return [p for n, p in self.unet.named_parameters() if 'lora_' in n]

    def _activate(self, name: str):
        if name == self._active:
            return
        if name not in self.adapter_names:
            raise KeyError(f'data sample asks for LoRA adapter {name!r}; the '
                           f'model trains {self.adapter_names} '
                           '(model.lora.adapter_names)')
        self.unet.set_adapter(name)
        # peft freezes inactive adapters; keep every branch trainable so the
        # optimizer and DDP see a fixed parameter set
        for p in self._lora_parameters():
            p.requires_grad_(True)
        self._active = name

    def _add_tokens(self, cfg: dict):
        tokens = _read_tokens(cfg)
        existing = [t for t in tokens if t in self.tokenizer.get_vocab()]
        if existing:
            raise ValueError(f'textual-inversion tokens already in the '
                             f'tokenizer: {existing[:5]}; pick new names')
        init = cfg.get('initializer_token', 'person')
        init_ids = self.tokenizer(init, add_special_tokens=False).input_ids
        if not init_ids:
            raise ValueError(f'initializer_token {init!r} gives no tokens')
        first = len(self.tokenizer)
        self.tokenizer.add_tokens(tokens)
        ids = self.tokenizer.convert_tokens_to_ids(tokens)
        if ids != list(range(first, first + len(tokens))):
            raise RuntimeError('textual-inversion tokens did not get '
                               'consecutive ids')
        self.text_encoder.resize_token_embeddings(len(self.tokenizer))
        table = self.text_encoder.get_input_embeddings()
        with torch.no_grad():
            start = table.weight[init_ids].float().mean(0)
            table.weight[first:] = start.to(table.weight.dtype)
        self.ti_tokens = tokens
        self.ti_first_id = first
        self.ti_embeddings = torch.nn.Parameter(
            start[None].repeat(len(tokens), 1).clone())
        # the embedding table stays frozen; rows of new tokens are replaced
        # by the trainable parameter, so only those rows learn
        table.register_forward_hook(self._ti_hook)

    def _ti_hook(self, module, args, output):
        ids = args[0]
        new = ids >= self.ti_first_id
        if not bool(new.any()):
            return output
        rows = self.ti_embeddings[(ids - self.ti_first_id).clamp(min=0)]
        return torch.where(new[..., None], rows.to(output.dtype), output)

    def train(self, mode: bool = True):
        super().train(mode)
        self.vae.eval()  # frozen parts stay in inference mode
        self.text_encoder.eval()
        if self.sdxl:
            self.text_encoder_2.eval()
        return self

    # ----------------------------------------------------------- training
    def encode_text(self, captions: Sequence[str]):
        """SD: the encoder's last hidden states ``(B, L, D)``. SDXL:
        ``(hidden (B, L, D1 + D2), pooled (B, P))`` as the SDXL pipeline
        builds them (penultimate layers, second encoder's projection)."""
        if self.sdxl:
            return self._encode_text_sdxl(captions)
        ids = self.tokenizer(list(captions), padding='max_length',
                             max_length=self.tokenizer.model_max_length,
                             truncation=True, return_tensors='pt').input_ids
        ids = ids.to(self.text_encoder.device)
        with torch.set_grad_enabled(bool(self.ti_tokens) and self.training):
            return self.text_encoder(ids)[0]

    @torch.no_grad()
    def _encode_text_sdxl(self, captions: Sequence[str]):
        hidden, pooled = [], None
        for tok, enc in ((self.tokenizer, self.text_encoder),
                         (self.tokenizer_2, self.text_encoder_2)):
            ids = tok(list(captions), padding='max_length',
                      max_length=tok.model_max_length, truncation=True,
                      return_tensors='pt').input_ids.to(enc.device)
            out = enc(ids, output_hidden_states=True)
            hidden.append(out.hidden_states[-2])
            pooled = out[0]  # text_embeds of the projection model
        return torch.cat(hidden, dim=-1), pooled

    def _images(self, inputs) -> torch.Tensor:
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        x = inputs.to(self.vae.device, torch.float32)
        if inputs.dtype == torch.uint8:
            x = x / 127.5 - 1.0
        return x

    @staticmethod
    def _samples(data_samples, n: int) -> List[dict]:
        if data_samples is None:
            return [{} for _ in range(n)]
        if isinstance(data_samples, dict):  # pseudo_collate: dict of lists
            return [{k: v[i] for k, v in data_samples.items()}
                    for i in range(n)]
        return list(data_samples)

    def forward(self, inputs, data_samples: Optional[List[dict]] = None,
                mode: str = 'loss'):
        """``mode='loss'``: ``dict(loss=MSE)``; ``'tensor'``/``'predict'``: the
        predicted noise and its target."""
        samples = self._samples(data_samples, len(inputs))
        x = self._images(inputs)
        with torch.no_grad():
            latents = self.vae.encode(x.to(self.vae.dtype)).latent_dist.sample()
            latents = latents * self.vae.config.scaling_factor
        noise = torch.randn_like(latents)
        if self.noise_offset:
            noise = noise + self.noise_offset * torch.randn(
                latents.shape[0], latents.shape[1], 1, 1, device=latents.device)
        steps = self.noise_scheduler.config.num_train_timesteps
        t = torch.randint(0, steps, (latents.shape[0],),
                          device=latents.device).long()
        noisy = self.noise_scheduler.add_noise(latents, noise, t)
        if self.noise_scheduler.config.prediction_type == 'v_prediction':
            target = self.noise_scheduler.get_velocity(latents, noise, t)
        else:
            target = noise
        captions = [s.get('caption', '') for s in samples]
        extra = {}
        if self.sdxl:
            hidden, pooled = self.encode_text(captions)
            h, w = x.shape[-2:]
            time_ids = torch.tensor([[h, w, 0, 0, h, w]], dtype=hidden.dtype,
                                    device=latents.device).repeat(len(x), 1)
            extra = dict(text_embeds=pooled.to(latents.device),
                         time_ids=time_ids)
        else:
            hidden = self.encode_text(captions)

        groups: Dict[Optional[str], List[int]] = {}
        for i, s in enumerate(samples):
            name = s.get('adapter') or (self.adapter_names[0]
                                        if self.adapter_names else None)
            groups.setdefault(name, []).append(i)
        pred = torch.empty_like(target)
        for name, idx in groups.items():
            if name is not None:
                self._activate(name)
            idx_t = torch.tensor(idx, device=latents.device)
            cond = {k: v[idx_t] for k, v in extra.items()}
            out = self.unet(noisy[idx_t], t[idx_t],
                            encoder_hidden_states=hidden[idx_t],
                            added_cond_kwargs=cond or None).sample
            pred = pred.index_copy(0, idx_t, out.to(pred.dtype))
        if mode == 'loss':
            return dict(loss=F.mse_loss(pred.float(), target.float()))
        if mode in ('tensor', 'predict'):
            return pred, target
        raise ValueError(f'unknown mode {mode!r}')

    # ----------------------------------------------------------- saving
    def save_adapters(self, out_dir: str) -> Dict[str, str]:
        """Write every LoRA adapter and the textual-inversion tokens.

        ``<out_dir>/<adapter>/pytorch_lora_weights.safetensors`` (for
        ``pipe.load_lora_weights(folder, adapter_name=adapter)``) and
        ``<out_dir>/learned_embeds.safetensors`` (``{token: embedding}``, for
        :func:`synthgen.generators.adapters.load_textual_inversion`).

        Returns:
            dict: what was written, name -> path.
        """
        os.makedirs(out_dir, exist_ok=True)
        written = {}
        pipeline_cls = None
        if self.sdxl:
            from diffusers import StableDiffusionXLPipeline as pipeline_cls
        for name in self.adapter_names:
            written[name] = save_lora_adapter(self.unet, name,
                                              osp.join(out_dir, name),
                                              pipeline_cls=pipeline_cls)
        if self.ti_tokens:
            emb = self.ti_embeddings.detach().cpu()
            written['textual_inversion'] = save_textual_inversion(
                osp.join(out_dir, TI_WEIGHT_NAME),
                {tok: emb[i] for i, tok in enumerate(self.ti_tokens)})
        return written
