"""``tools/train.py configs/dive/sysu_deen_dive.py`` end to end, tiny models.

Every stage of the paper path runs for real -- the vocabulary
(``DiVEVocabularyStage``), textual inversion + LoRA fine-tuning
(``FinetuneStage`` / ``DiffusionLoRAModel``), infrared generation
(``GenerateStage``: ``IdentityListSource`` -> ``DiVEPromptBuilder`` ->
``DiffusersText2Image`` with DPM-Solver++, the learned LoRA and tokens),
DEEN training on V* / I* and the SYSU-MM01 all-search test -- with only the
data and model locations swapped (toy SYSU-MM01 and Market-1501, a tiny
random-weight SD-1.5 saved in the diffusers layout) and the sizes shrunk,
through ``--cfg-options``; the train stage is capped at 2 iterations (a
child config in tmp_path swaps the epoch loop for an iteration loop; an
epoch of the toy V* / I* is ~26 DEEN-R50 iterations, most of this test's
time before). A second run skips every complete stage.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))
CONFIG = 'configs/dive/sysu_deen_dive.py'
SIZE = '(64,32)'       # the tiny SD-1.5's fine-tuning and generation
REID_SIZE = '(32,16)'  # DEEN-R50 (stride 16: a 2 x 1 feature map)
TRAIN_ITERS = 2


def capped_config(tmp_path):
    """``CONFIG`` with its train stage capped at ``TRAIN_ITERS`` iterations
    (checkpoint by iteration, so the test stage finds it)."""
    path = tmp_path / 'sysu_deen_dive_capped.py'
    path.write_text(
        f'_base_ = [{osp.join(ROOT, CONFIG)!r}]\n'
        f"train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
        f'max_iters={TRAIN_ITERS}, val_interval=1000)\n'
        f'default_hooks = dict(checkpoint=dict(by_epoch=False, '
        f'interval={TRAIN_ITERS}))\n')
    return str(path)


def cfg_options(sysu, market, dive_root, sd):
    """The shrinking options; the configs refer to data_root, market_root,
    dive_root, sd15, dive_external, dive_generator and img_size late, so
    setting those top-level facts reaches every stage."""
    ft = 'stages.1.overrides.'
    opts = [f'data_root={sysu}', f'market_root={market}',
            f'dive_root={dive_root}', f'sd15={sd}', f'img_size={REID_SIZE}',
            # the toy Market has no gt_bbox/; its train folder stands in
            'dive_external.folder=bounding_box_train',
            # fine-tuning: 2 steps of batch 2 at 64x32
            f'{ft}train_cfg.max_iters=2',
            f'{ft}train_dataloader.batch_size=2',
            f'{ft}train_dataloader.num_workers=0',
            f'{ft}train_dataloader.persistent_workers=False',
            f'{ft}train_dataloader.dataset.size={SIZE}',
            f'{ft}default_hooks.logger.interval=1',
            # generation: 1 image per identity per IR camera, 2 steps
            'dive_num_variants=2', 'dive_num_inference_steps=2',
            'dive_generator.height=64', 'dive_generator.width=32',
            'dive_generator.dtype=fp32', 'dive_generation.pipeline.batch_size=4',
            # DEEN: random weights, 2 ids x (2 + 2) images, TRAIN_ITERS
            # iterations (capped_config)
            'model.backbone.pretrained=None',
            'train_dataloader.batch_size=8',
            'train_dataloader.sampler.batch_size=8',
            'train_dataloader.sampler.num_instances=4',
            'default_hooks.logger.interval=1']
    for loader in ('train', 'val', 'test'):
        opts += [f'{loader}_dataloader.num_workers=0',
                 f'{loader}_dataloader.persistent_workers=False']
    return opts


def train(config, work_dir, options):
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1',
               PYTHONPATH=ROOT,
               HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    out = subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
         '--cfg-options', *options],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    return log


@pytest.mark.timeout(900)
def test_sysu_deen_dive_runs_every_stage(toy_sysu, toy_market, tmp_path):
    from synthgen.testing import tiny_sd_pipeline
    sd = str(tmp_path / 'sd15')
    tiny_sd_pipeline('text2image', save_dir=sd)
    dive_root = str(tmp_path / 'dive_data')
    work = str(tmp_path / 'work')
    opts = cfg_options(toy_sysu, toy_market, dive_root, sd)
    config = capped_config(tmp_path)
    log = train(config, work, opts)
    # the train stage ran its capped iterations and saved that checkpoint
    assert f'Iter(train) [{TRAIN_ITERS}/{TRAIN_ITERS}]' in log, log[-3000:]
    assert open(osp.join(work, 'last_checkpoint')).read().strip().endswith(
        f'iter_{TRAIN_ITERS}.pth')

    voc = osp.join(dive_root, 'vocabulary')
    tokens = json.load(open(osp.join(voc, 'tokens.json')))
    gen_ids = json.load(open(osp.join(voc, 'gen_identities.json')))
    assert gen_ids and all(g['token'] in tokens for g in gen_ids)
    adapters = osp.join(dive_root, 'finetune', 'adapters')
    assert osp.isfile(osp.join(adapters, 'default',
                               'pytorch_lora_weights.safetensors'))
    assert osp.isfile(osp.join(adapters, 'learned_embeds.safetensors'))
    lines = []
    for f in glob.glob(osp.join(dive_root, 'ir', 'manifest*.jsonl')):
        lines += [json.loads(ln) for ln in open(f) if '"unit_done"' not in ln]
    assert len(lines) == 2 * len(gen_ids)
    codes = json.load(open(osp.join(voc, 'codes.json')))['codes']
    token = {g['pid']: g['token'] for g in gen_ids}
    for ln in lines:
        assert ln['camid'] in (3, 6) and ln['modality'] == 1
        assert ln['prompt'] == (f"a {codes['i%d' % ln['camid']]} photo of a "
                                f"{token[ln['pid']]} person")
    metrics = json.load(open(osp.join(work, 'metrics_test.json')))
    text = json.dumps(metrics)
    assert 'R1' in text and 'mAP' in text

    # complete stages are skipped on a second run
    log = train(config, work, opts)
    assert 'skip' in log.lower()
