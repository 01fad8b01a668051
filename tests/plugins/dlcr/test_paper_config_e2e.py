"""``tools/train.py configs/dlcr/prcc_cal.py`` end to end with tiny models.

The paper config as users run it, with every component of the paper path
(``HumanParsingMaskProvider`` -> ``VLMLLMDescriber`` (LLaVA + LLaMA) ->
``DiffusersInpainter`` (SD inpainting) -> CAL with
``ProgressivePairingSampler`` -> ``DLCRQueryVariantDataset`` ->
``DLCRMetric`` + ``DLCRRefinementReranker``) executed for real: only the
data and model locations are swapped (a toy PRCC, tiny random-weight models
saved in the formats the components load) and the sizes shrunk, through
``--cfg-options``.
"""
import glob
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
from PIL import Image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
CONFIG = 'configs/dlcr/prcc_cal.py'
K = 2  # generated variants per training image (paper: 10)
L = 2  # query variants (paper: 6)
SIZE = '(64,32)'  # re-ID image size (paper: 384x192)


def save_tiny_models(root):
    """Tiny random-weight models, saved as the paper config loads them.

    Returns:
        dict: folder of the human parser (SegFormer + image processor,
        ATR labels), the VLM (LLaVA + processor), the LLM (Llama +
        tokenizer) and the SD inpainting pipeline.
    """
    import torch
    from transformers import (SegformerConfig,
                              SegformerForSemanticSegmentation,
                              SegformerImageProcessor)

    from plugins.dlcr.masks import LABEL_MAPS
    from synthgen.testing import tiny_llava, tiny_llm, tiny_sd_pipeline

    paths = {name: osp.join(root, name) for name in
             ('parser', 'vlm', 'llm', 'sd')}
    atr = LABEL_MAPS['atr']  # the config's label_map
    torch.manual_seed(0)
    seg = SegformerConfig(
        num_labels=len(atr), id2label=dict(atr),
        label2id={v: k for k, v in atr.items()}, num_encoder_blocks=2,
        depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16],
        patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 1],
        mlp_ratios=[2, 2], decoder_hidden_size=16)
    SegformerForSemanticSegmentation(seg).save_pretrained(paths['parser'])
    SegformerImageProcessor(size={'height': 64, 'width': 32}).save_pretrained(
        paths['parser'])
    for name, (model, proc) in (('vlm', tiny_llava()), ('llm', tiny_llm())):
        model.save_pretrained(paths[name])
        proc.save_pretrained(paths[name])
    tiny_sd_pipeline('inpaint', save_dir=paths['sd'])
    return paths


def cfg_options(data_root, dlcr_root, models):
    """Overrides that only move data / models and shrink sizes.

    The paper config's stages refer to its top-level pieces late
    (``mask_provider``, ``describer``, ``inpainter``, ``img_size``), so one
    override of each reaches both generation stages and every dataloader.
    """
    opts = [
        # locations
        f'data_root={data_root}', f'dlcr_root={dlcr_root}',
        f'mask_provider.model={models["parser"]}',
        f'describer.vlm.model={models["vlm"]}',
        f'describer.llm.model={models["llm"]}',
        f'inpainter.pretrained_model_name_or_path={models["sd"]}',
        'model.backbone.pretrained=None',
        # sizes: captions / summaries, K and l, diffusion resolution and steps
        'describer.vlm.max_new_tokens=8', 'describer.llm.max_new_tokens=16',
        f'generation.pipeline.num_variants={K}',
        f'query_generation.pipeline.num_variants={L}',
        f'test_dataloader.dataset.num_variants={L}',
        f'test_evaluator.rerankers.0.num_variants={L}',
        f'img_size={SIZE}',
    ]
    for g in ('inpainter.', 'query_generation.pipeline.generator.'):
        opts += [f'{g}height=32', f'{g}width=16', f'{g}num_inference_steps=2']
    # training: 4 real + 4 paired variants per batch, 2 epochs, the pool
    # widened after one epoch and CAL from the second epoch
    sampler = 'train_dataloader.sampler.'
    opts += ['train_dataloader.batch_size=8', f'{sampler}batch_size=8',
             f'{sampler}num_instances=2', f'{sampler}interval=1',
             'train_cfg.max_epochs=2',
             'model.clothes_classifier.start_epoch=1',
             'model.clothes_classifier.adv_loss.start_epoch=1',
             'default_hooks.logger.interval=1']
    for loader in ('train', 'val', 'test'):  # no worker processes
        key = f'{loader}_dataloader'
        opts += [f'{key}.num_workers=0', f'{key}.persistent_workers=False']
    return opts


def train(work_dir, options):
    # one thread, as tests/engine's run_tool: steady on a busy 2-core machine
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1',
               HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    out = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir,
         '--cfg-options', *options],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    return log


def read_manifest_lines(folder):
    from reidkit.datasets.synthetic import read_manifest
    return [e for path in sorted(glob.glob(osp.join(folder,
                                                    'manifest*.jsonl')))
            for e in read_manifest(path)]


def images_of(data_root, pattern):
    return sorted(glob.glob(osp.join(data_root, 'rgb', pattern)))


def read_scalars(work_dir):
    """mmengine's logged scalars (one dict per logged step)."""
    rows = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data',
                                   'scalars.json')):
        with open(path, encoding='utf-8') as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


def stage_records(work_dir):
    out = {}
    for path in glob.glob(osp.join(work_dir, 'stages', '*.json')):
        with open(path, encoding='utf-8') as f:
            out[osp.splitext(osp.basename(path))[0]] = json.load(f)
    return out


def snapshot(paths):
    out = {}
    for p in paths:
        with open(p, 'rb') as f:
            out[p] = (os.stat(p).st_mtime_ns, f.read())
    return out


def test_paper_config_end_to_end(toy_prcc, tmp_path):
    models = save_tiny_models(str(tmp_path / 'models'))
    dlcr_root = str(tmp_path / 'dlcr_data')
    work_dir = str(tmp_path / 'work')
    options = cfg_options(toy_prcc, dlcr_root, models)
    log = train(work_dir, options)

    # ---- generation: masks, descriptions, K inpaintings per training image
    train_images = images_of(toy_prcc, 'train/*/*.jpg')
    query_images = [p for p in images_of(toy_prcc, 'test/*/*/*.jpg')
                    if p.split(os.sep)[-3] != 'A']  # cameras B and C
    assert train_images and query_images
    out_dir = osp.join(dlcr_root, 'train_k10')
    lines = read_manifest_lines(out_dir)
    assert len(lines) == len(train_images) * K
    assert len(glob.glob(osp.join(out_dir, 'images', '*', '*.jpg'))) == \
        len(lines)
    assert sorted({e['source'] for e in lines}) == \
        sorted(osp.abspath(p) for p in train_images)
    for e in lines:
        assert osp.isfile(osp.join(out_dir, e['path']))
        assert e['generator'] == 'DiffusersInpainter'
        assert e['clothes_id'] == -1
        assert e['target_clothes'] != e['source_clothes']
    for p in train_images + query_images:  # parser label maps, cached
        rel = osp.splitext(osp.relpath(p, toy_prcc))[0] + '.png'
        labels = np.asarray(Image.open(osp.join(dlcr_root, 'masks', rel)))
        assert labels.shape == (64, 32) and labels.max() < 18, rel  # ATR ids
    with open(osp.join(dlcr_root, 'descriptions.json'),
              encoding='utf-8') as f:
        bank = json.load(f)
    assert bank['source'] == 'vlm+llm'  # LLaVA captions -> LLaMA summaries
    assert sorted(int(c) for c in bank['clothes']) == \
        sorted({e['source_clothes'] for e in lines})
    for entry in bank['clothes'].values():
        assert entry['captions'] and isinstance(entry['summary'], str)
        assert entry['prompt'].startswith('a person wearing')
    assert {e['target_clothes'] for e in lines} <= \
        {int(c) for c in bank['clothes']}
    qlines = read_manifest_lines(osp.join(dlcr_root, 'query_l6'))
    assert len(qlines) == len(query_images) * L
    assert {e['source'] for e in qlines} == \
        {osp.abspath(p) for p in query_images}

    # ---- training: checkpoints and finite losses, CAL in the second epoch
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))
    losses = [row for row in read_scalars(work_dir) if 'loss' in row]
    assert losses, log[-3000:]
    for row in losses:
        for key, value in row.items():
            if key.startswith('loss'):
                assert math.isfinite(value), (key, row)
    assert not any('loss_cal' in row for row in losses if row['epoch'] == 1)
    assert any('loss_cal' in row for row in losses if row['epoch'] == 2)

    # ---- test: DLCRMetric's refined and plain/* metrics, PRCC sc and cc
    test_lines = [s for s in log.splitlines()
                  if 'Epoch(test)' in s and 'plain/' in s]
    assert test_lines, log[-3000:]
    metrics = dict(re.findall(r'(\S+/\S+): ([\d.]+)', test_lines[-1]))
    for prefix in ('', 'plain/'):
        for mode in ('sc', 'cc'):
            for name in ('mAP', 'R1'):
                value = float(metrics[f'{prefix}{mode}/{name}'])
                assert 0.0 <= value <= 100.0
    assert 'test: test' in log  # the test stage's table
    records = stage_records(work_dir)
    assert sorted(records) == ['generate', 'query_variants', 'test', 'train']
    assert all(r['status'] == 'complete' for r in records.values())

    # ---- the same command again: every stage is complete and skipped
    outputs = glob.glob(osp.join(dlcr_root, '*', 'manifest*.jsonl')) + \
        [osp.join(dlcr_root, 'descriptions.json')]
    before = snapshot(outputs)
    log2 = train(work_dir, options)
    assert 'stage 1/4' not in log2 and 'stage 4/4' not in log2  # none ran
    assert snapshot(outputs) == before
    assert stage_records(work_dir) == records

    # ---- a changed query-variant setting re-runs that stage and the test
    log3 = train(work_dir, options + ['query_generation.pipeline.seed=7'])
    assert 'stage 3/4: query_variants' in log3 and 'stage 4/4: test' in log3
    after = stage_records(work_dir)
    assert after['generate'] == records['generate']
    assert after['train'] == records['train']
    assert after['query_variants']['time'] > records['query_variants']['time']
    assert after['test']['time'] > records['test']['time']
    assert glob.glob(osp.join(dlcr_root, 'query_l6.old-*'))  # kept, aside
