"""``tools/train.py configs/dive/sysu_deen_dive.py`` end to end, tiny models.

Every stage of the paper path runs for real -- the vocabulary
(``DiVEVocabularyStage``), textual inversion + LoRA fine-tuning
(``FinetuneStage`` / ``DiffusionLoRAModel``), infrared generation
(``GenerateStage``: ``IdentityListSource`` -> ``DiVEPromptBuilder`` ->
``DiffusersText2Image`` with DPM-Solver++, the learned LoRA and tokens),
DEEN training on V* / I* and the SYSU-MM01 all-search test -- with only the
data and model locations swapped (toy SYSU-MM01 and Market-1501, a tiny
random-weight SD-1.5 saved in the diffusers layout) and the sizes shrunk,
through ``--cfg-options``. A second run skips every complete stage.
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
SIZE = '(64,32)'


def cfg_options(sysu, market, dive_root, sd):
    """The shrinking options; the configs refer to data_root, market_root,
    dive_root, sd15, dive_external, dive_generator and img_size late, so
    setting those top-level facts reaches every stage."""
    ft = 'stages.1.overrides.'
    opts = [f'data_root={sysu}', f'market_root={market}',
            f'dive_root={dive_root}', f'sd15={sd}', f'img_size={SIZE}',
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
            # DEEN: random weights, 2 ids x (2 + 2) images, 1 epoch
            'model.backbone.pretrained=None',
            'train_dataloader.batch_size=8',
            'train_dataloader.sampler.batch_size=8',
            'train_dataloader.sampler.num_instances=4',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=100',
            'default_hooks.logger.interval=1']
    for loader in ('train', 'val', 'test'):
        opts += [f'{loader}_dataloader.num_workers=0',
                 f'{loader}_dataloader.persistent_workers=False']
    return opts


def train(work_dir, options):
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1',
               PYTHONPATH=ROOT,
               HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    out = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir', work_dir,
         '--cfg-options', *options],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-5000:]
    return log


# two full runs (tiny SD fine-tuning, generation, DEEN-R50 at 64x32): minutes
# on a loaded 2-core machine
@pytest.mark.timeout(1800)
def test_sysu_deen_dive_runs_every_stage(toy_sysu, toy_market, tmp_path):
    from synthgen.testing import tiny_sd_pipeline
    sd = str(tmp_path / 'sd15')
    tiny_sd_pipeline('text2image', save_dir=sd)
    dive_root = str(tmp_path / 'dive_data')
    work = str(tmp_path / 'work')
    opts = cfg_options(toy_sysu, toy_market, dive_root, sd)
    train(work, opts)

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
    log = train(work, opts)
    assert 'skip' in log.lower()
