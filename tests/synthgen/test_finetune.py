"""LoRA / textual-inversion fine-tuning through the mmengine Runner (tiny models)."""
import json
import os
import os.path as osp
import subprocess
import sys

os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from PIL import Image  # noqa: E402

from synthgen.finetune import (CaptionedImageDataset,  # noqa: E402
                               DiffusionLoRAModel)
from synthgen.generators.diffusion import DiffusersText2Image  # noqa: E402
from synthgen.testing import (make_clip_tokenizer,  # noqa: E402
                              tiny_sd_components, tiny_sd_pipeline)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
GEN = dict(height=16, width=16, num_inference_steps=2)


class FixedNoise(Hook):
    """Same noise and timesteps every step: the loss we check is the one trained."""

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        torch.manual_seed(0)


def make_folder(root, n=4, size=16, adapters=None):
    os.makedirs(root, exist_ok=True)
    rng = np.random.RandomState(0)
    ann = {}
    for i in range(n):
        name = f'img{i}.png'
        arr = np.zeros((size, size, 3), np.uint8)
        arr[..., i % 3] = 200  # plain colours: easy to fit
        arr += rng.randint(0, 30, arr.shape).astype(np.uint8)
        Image.fromarray(arr).save(osp.join(root, name))
        entry = dict(caption=f'a photo of <p{i % 2}> person')
        if adapters:
            entry['adapter'] = adapters[i % len(adapters)]
        ann[name] = entry
    with open(osp.join(root, 'captions.json'), 'w') as f:
        json.dump(ann, f)
    return root


def fixed_loss(model, ds):
    batch = [ds[i] for i in range(len(ds))]
    model.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        loss = model([b['inputs'] for b in batch],
                     [b['data_samples'] for b in batch])['loss'].item()
    model.train()
    return loss


def train(model, ds, work_dir, iters=6, lr=5e-3):
    runner = Runner(
        model=model, work_dir=str(work_dir),
        train_dataloader=dict(dataset=ds, batch_size=len(ds), num_workers=0,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=False, max_iters=iters),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=lr)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.5,
                              by_epoch=False, begin=0, end=2),
                         dict(type='PolyLR', power=1.0, eta_min=0.0,
                              by_epoch=False, begin=2, end=iters)],
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook',
                                                        interval=1)),
        custom_hooks=[FixedNoise(), dict(type='synthgen.SaveAdaptersHook')],
        default_scope='synthgen')
    runner.train()
    return runner


def test_lora_finetune_lowers_loss_and_loads_into_pipeline(tmp_path):
    tok = make_clip_tokenizer()
    ds = CaptionedImageDataset(make_folder(str(tmp_path / 'data')),
                               size=(16, 16), flip_prob=0.0)
    model = DiffusionLoRAModel(components=tiny_sd_components(
        scheduler='ddpm', tokenizer=tok), lora=dict(rank=4, alpha=8))
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all('lora_' in n for n in trainable)
    before = fixed_loss(model, ds)
    train(model, ds, tmp_path / 'work')
    after = fixed_loss(model, ds)
    assert after < before, (before, after)

    folder = tmp_path / 'work' / 'adapters' / 'default'
    assert (folder / 'pytorch_lora_weights.safetensors').is_file()
    gen = DiffusersText2Image(
        components=tiny_sd_components(tokenizer=tok),
        lora=dict(trained=str(folder)), **GEN)
    req = dict(prompt='a photo of a person', seed=0)
    base, tuned = gen([req, dict(req, adapter='trained')])
    assert not np.array_equal(base['image'], tuned['image'])
    # the loaded adapter keeps the trained scaling (alpha / rank = 2)
    layer = gen.pipe.unet.down_blocks[1].attentions[0].transformer_blocks[0] \
        .attn1.to_q
    assert layer.scaling['trained'] == pytest.approx(2.0)


def test_textual_inversion_with_two_lora_branches(tmp_path):
    tok = make_clip_tokenizer()
    ds = CaptionedImageDataset(make_folder(str(tmp_path / 'data'),
                                           adapters=['vis', 'ir']),
                               size=(16, 16), flip_prob=0.0)
    model = DiffusionLoRAModel(
        components=tiny_sd_components(scheduler='ddpm', tokenizer=tok),
        lora=dict(rank=2, adapter_names=['vis', 'ir']),
        textual_inversion=dict(num_tokens=2, initializer_token='person'))
    emb_table = model.text_encoder.get_input_embeddings().weight.clone()
    start = model.ti_embeddings.detach().clone()
    before = fixed_loss(model, ds)
    train(model, ds, tmp_path / 'work', iters=4)
    assert fixed_loss(model, ds) < before
    # only the new tokens' rows learned; the frozen table is untouched
    assert not torch.allclose(model.ti_embeddings, start)
    assert torch.equal(model.text_encoder.get_input_embeddings().weight,
                       emb_table)
    lora_vis = [p for n, p in model.unet.named_parameters()
                if 'lora_B.vis' in n]
    lora_ir = [p for n, p in model.unet.named_parameters()
               if 'lora_B.ir' in n]
    assert any(p.abs().sum() > 0 for p in lora_vis)
    assert any(p.abs().sum() > 0 for p in lora_ir)

    out = tmp_path / 'work' / 'adapters'
    gen = DiffusersText2Image(
        components=tiny_sd_components(tokenizer=make_clip_tokenizer()),
        lora=dict(vis=str(out / 'vis'), ir=str(out / 'ir')),
        textual_inversion=str(out / 'learned_embeds.safetensors'), **GEN)
    req = dict(prompt='a photo of <p1> person', seed=0)
    a, b = gen([dict(req, adapter='vis'), dict(req, adapter='ir')])
    assert gen.ti_tokens == ['<p0>', '<p1>']
    assert not np.array_equal(a['image'], b['image'])
    emb = gen.pipe.text_encoder.get_input_embeddings().weight
    tid = gen.pipe.tokenizer.convert_tokens_to_ids('<p1>')
    assert torch.allclose(emb[tid], model.ti_embeddings[1].detach(),
                          atol=1e-6)


def test_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='data_root'):
        CaptionedImageDataset(str(tmp_path / 'missing'))
    (tmp_path / 'd').mkdir()
    with pytest.raises(FileNotFoundError, match='ann_file'):
        CaptionedImageDataset(str(tmp_path / 'd'))
    with pytest.raises(FileNotFoundError, match='pretrained_model_name_or_path'):
        DiffusionLoRAModel(pretrained_model_name_or_path=str(tmp_path / 'no'))


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_tools_finetune_cli_two_cpu_processes(tmp_path):
    """tools/finetune.py under torchrun: 2 CPU processes, gloo, DDP."""
    tiny_sd_pipeline('text2image', save_dir=str(tmp_path / 'sd'))
    data = make_folder(str(tmp_path / 'data'))
    work = tmp_path / 'work'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
           f'--master_port={_free_port()}',
           osp.join(REPO, 'tools', 'finetune.py'),
           osp.join(REPO, 'configs', 'finetune', 'tiny_lora_smoke.py'),
           '--launcher', 'pytorch', '--work-dir', str(work), '--cfg-options',
           f'model.pretrained_model_name_or_path={tmp_path / "sd"}',
           f'train_dataloader.dataset.data_root={data}',
           'train_dataloader.dataset.size=[16,16]', 'train_cfg.max_iters=2']
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    res = subprocess.run(cmd, env=env, capture_output=True, text=True,
                         timeout=300)
    log = res.stdout + res.stderr
    assert res.returncode == 0, log[-3000:]
    assert 'Distributed training: True' in log
    assert 'Iter(train) [2/2]' in log
    assert (work / 'adapters' / 'default' /
            'pytorch_lora_weights.safetensors').is_file()


def test_lora_target_modules_regex_list_and_decoder(tmp_path):
    """A string is a regex (was split into characters by list()); 'decoder'
    puts LoRA on the up-blocks' attention only (Vehicle-Diff)."""
    from synthgen.finetune.model import DECODER_TARGETS, lora_target_modules
    assert lora_target_modules('decoder') == DECODER_TARGETS
    assert lora_target_modules(r'.*attn1\.to_q') == r'.*attn1\.to_q'
    assert lora_target_modules(('to_q', 'to_v')) == ['to_q', 'to_v']
    with pytest.raises(TypeError, match='target_modules'):
        lora_target_modules(['to_q', 3])

    def lora_layers(targets):
        model = DiffusionLoRAModel(
            components=tiny_sd_components(scheduler='ddpm'),
            lora=dict(rank=2, target_modules=targets))
        return sorted({n.split('.lora_')[0] for n, _ in
                       model.unet.named_parameters() if 'lora_A' in n})

    decoder = lora_layers('decoder')
    # tiny UNet (layers_per_block=1): up block 0 has 2 attentions of one
    # transformer layer, each with attn1 and attn2 of 4 projections
    assert len(decoder) == 2 * 2 * 4
    assert all(n.startswith('up_blocks.0.attentions.') for n in decoder)
    everywhere = lora_layers(['to_q', 'to_k', 'to_v', 'to_out.0'])
    assert set(decoder) < set(everywhere)
    assert any(n.startswith('down_blocks') for n in everywhere)
    assert any(n.startswith('mid_block') for n in everywhere)
    only_q = lora_layers(r'.*up_blocks.*attn1\.to_q')
    assert only_q == [n for n in decoder if n.endswith('attn1.to_q')]


def test_sdxl_lora_finetune_two_text_encoders(tmp_path):
    import copy

    from diffusers import DDPMScheduler, StableDiffusionXLPipeline
    from synthgen.testing import tiny_sdxl_components
    ds = CaptionedImageDataset(make_folder(str(tmp_path / 'data')),
                               size=(16, 16), flip_prob=0.0)
    comps = tiny_sdxl_components()
    train_comps = dict(copy.deepcopy(comps), scheduler=DDPMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
        num_train_timesteps=1000))
    model = DiffusionLoRAModel(components=train_comps,
                               lora=dict(rank=4, target_modules='decoder'))
    assert model.sdxl
    hidden, pooled = model.encode_text(['a red car'])
    # SDXL conditioning: both encoders' hidden states side by side (32 + 32)
    # and the projection model's pooled embedding; the pipeline agrees
    pipe = StableDiffusionXLPipeline(**comps)
    ref, _, ref_pooled, _ = pipe.encode_prompt(
        'a red car', device='cpu', do_classifier_free_guidance=False)
    torch.testing.assert_close(hidden, ref)
    torch.testing.assert_close(pooled, ref_pooled)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all('lora_' in n and n.startswith('unet.up_blocks')
                             for n in trainable)
    before = fixed_loss(model, ds)
    train(model, ds, tmp_path / 'work', iters=4)
    assert fixed_loss(model, ds) < before

    folder = tmp_path / 'work' / 'adapters' / 'default'
    gen = DiffusersText2Image(components=comps,
                              lora=dict(tuned=str(folder)), **GEN)
    req = dict(prompt='a red car driving down the road.', seed=0)
    base, tuned, base2 = gen([req, dict(req, adapter='tuned'), req])
    assert type(gen.pipe).__name__ == 'StableDiffusionXLPipeline'
    assert not np.array_equal(base['image'], tuned['image'])
    np.testing.assert_array_equal(base['image'], base2['image'])
