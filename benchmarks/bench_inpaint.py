"""Throughput of SD-1.5-sized diffusion inpainting (``DiffusersInpainter``).

Builds a full-size SD-1.5 inpainting configuration with random weights (9-channel
UNet 320/640/1280/1280 with 768-d cross attention, the SD VAE, a 12-layer
CLIP-L text encoder, CLIP's real 49408-token tokenizer built offline), so no
weights are needed, and times DLCR's setting: 768x256 (HxW), 50 steps,
guidance 7.5, composited back onto the source. Each configuration
(dtype x batch size x torch.compile) is timed after a warm-up batch (which
absorbs compilation) and printed as images/s and as a ratio against the named
peer measured in the same run: ``fp32, batch 1, eager`` (the first
configuration). The raw diffusers pipeline call is timed too, to show the
generator's own overhead (resizing, compositing).

    python benchmarks/bench_inpaint.py                       # GPU, fp32+fp16, batch 1 and 8
    python benchmarks/bench_inpaint.py --dtypes fp16 --batch-sizes 8 16 --compile
    python benchmarks/bench_inpaint.py --tiny                # CPU smoke run, tiny model
"""
import argparse
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402
import torch  # noqa: E402

from synthgen.generators.diffusion import DiffusersInpainter  # noqa: E402
from synthgen.testing import make_clip_tokenizer, tiny_sd_components  # noqa: E402

DTYPES = {'fp32': torch.float32, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def sd15_inpaint_components(device, dtype):
    """SD-1.5 inpainting architecture with random weights, built on ``device``."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    tokenizer = make_clip_tokenizer(num_merges=None)
    torch.manual_seed(0)
    with torch.device(device):
        unet = UNet2DConditionModel(
            sample_size=64, in_channels=9, out_channels=4,
            block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
            down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                              'CrossAttnDownBlock2D', 'DownBlock2D'),
            up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D',
                            'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'),
            cross_attention_dim=768, attention_head_dim=8)
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, latent_channels=4, sample_size=512,
            block_out_channels=(128, 256, 512, 512), layers_per_block=2,
            down_block_types=('DownEncoderBlock2D',) * 4,
            up_block_types=('UpDecoderBlock2D',) * 4)
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=768,
            intermediate_size=3072, num_hidden_layers=12,
            num_attention_heads=12, max_position_embeddings=77,
            hidden_act='quick_gelu', projection_dim=768,
            bos_token_id=len(tokenizer) - 2, eos_token_id=len(tokenizer) - 1,
            pad_token_id=len(tokenizer) - 1))
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012,
                              beta_schedule='scaled_linear', clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    comps = dict(unet=unet, vae=vae, text_encoder=text_encoder.eval(),
                 tokenizer=tokenizer, scheduler=scheduler)
    for m in (unet, vae, text_encoder):
        m.to(dtype)
    return comps


def make_requests(n, h, w, seed=0):
    rng = np.random.default_rng(seed)
    reqs = []
    for i in range(n):
        img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        mask = np.zeros((h, w), np.uint8)
        mask[int(h * 0.2):int(h * 0.85), int(w * 0.2):int(w * 0.8)] = 1
        reqs.append(dict(prompt='a person wearing a red jacket, blue jeans '
                         'and white shoes', seed=i, image=img, mask=mask))
    return reqs


def sync(device):
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def time_generator(gen, reqs, batch_size, device):
    gen(reqs[:batch_size])  # warm-up (and compilation)
    sync(device)
    t0 = time.perf_counter()
    out = gen(reqs)
    sync(device)
    dt = time.perf_counter() - t0
    assert len(out) == len(reqs)
    return len(reqs) / dt


def time_raw_pipeline(pipe, reqs, batch_size, args, device):
    """Peer: the bare diffusers call on pre-resized inputs (no compositing)."""
    from PIL import Image
    batch = reqs[:batch_size]
    kwargs = dict(prompt=[r['prompt'] for r in batch],
                  image=[Image.fromarray(r['image']) for r in batch],
                  mask_image=[Image.fromarray(r['mask'] * 255) for r in batch],
                  height=args.height, width=args.width,
                  num_inference_steps=args.steps, guidance_scale=7.5,
                  output_type='np')
    pipe(**kwargs)
    sync(device)
    t0 = time.perf_counter()
    n = 0
    for _ in range(max(1, len(reqs) // batch_size)):
        pipe(**kwargs, generator=[torch.Generator('cpu').manual_seed(i)
                                  for i in range(batch_size)])
        n += batch_size
    sync(device)
    return n / (time.perf_counter() - t0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--tiny', action='store_true',
                   help='tiny random model, small images, 2 steps (CPU smoke)')
    p.add_argument('--device', default=None)
    p.add_argument('--height', type=int, default=768)
    p.add_argument('--width', type=int, default=256)
    p.add_argument('--steps', type=int, default=50)
    p.add_argument('--dtypes', nargs='+', default=None, choices=list(DTYPES))
    p.add_argument('--batch-sizes', nargs='+', type=int, default=None)
    p.add_argument('--compile', action='store_true',
                   help='also time torch.compile of the UNet')
    p.add_argument('--images', type=int, default=None,
                   help='timed images per configuration')
    args = p.parse_args(argv)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.tiny:
        args.height, args.width = min(args.height, 64), min(args.width, 32)
        args.steps = min(args.steps, 2)
    dtypes = args.dtypes or (['fp32', 'fp16'] if device.startswith('cuda')
                             else ['fp32'])
    batch_sizes = args.batch_sizes or ([1, 2] if args.tiny else [1, 8])
    n_images = args.images or (4 if args.tiny else 2 * max(batch_sizes))
    n_images = max(n_images, max(batch_sizes))
    compiles = [False, True] if args.compile else [False]

    print(f'device={device} ({torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"}), '
          f'model={"tiny" if args.tiny else "SD-1.5 inpainting (random weights)"}, '
          f'{args.height}x{args.width}, {args.steps} steps, {n_images} images '
          'per configuration')
    reqs = make_requests(n_images, args.height, args.width)
    rows = []
    for dtype in dtypes:
        t0 = time.perf_counter()
        comps = (tiny_sd_components(9) if args.tiny else
                 sd15_inpaint_components(device, DTYPES[dtype]))
        print(f'built {dtype} components in {time.perf_counter() - t0:.1f}s')
        for compile_ in compiles:
            for bs in batch_sizes:
                gen = DiffusersInpainter(
                    components=dict(comps), height=args.height,
                    width=args.width, num_inference_steps=args.steps,
                    guidance_scale=7.5, batch_size=bs, dtype=dtype,
                    device=device, compile=compile_,
                    compile_kwargs=dict(mode='max-autotune-no-cudagraphs')
                    if compile_ and device.startswith('cuda') else {})
                ips = time_generator(gen, reqs, bs, device)
                name = f'{dtype}, batch {bs}, ' + ('compiled' if compile_
                                                   else 'eager')
                rows.append((name, ips))
                print(f'  {name:<28} {ips:8.3f} images/s', flush=True)
                if not compile_ and bs == max(batch_sizes):
                    raw = time_raw_pipeline(gen.pipe, reqs, bs, args, device)
                    rows.append((f'{dtype}, batch {bs}, raw diffusers call',
                                 raw))
                    print(f'  {rows[-1][0]:<28} {raw:8.3f} images/s',
                          flush=True)
                del gen
        del comps
        if device.startswith('cuda'):
            torch.cuda.empty_cache()

    peer_name, peer = rows[0]
    print(f'\n{"configuration":<40} {"images/s":>9} {"s/image":>8} '
          f'{"vs peer":>8}')
    for name, ips in rows:
        print(f'{name:<40} {ips:9.3f} {1 / ips:8.3f} {ips / peer:7.2f}x')
    print(f'peer: {peer_name}')
    return rows


if __name__ == '__main__':
    main()
