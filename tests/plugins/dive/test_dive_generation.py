"""DiVE's infrared generation for external identities: prompts, cameras,
resumability, and one identity space V* / I* for training."""
import json
import os.path as osp
from collections import Counter

from PIL import Image

from plugins.dive import DiVEPromptBuilder, run_vocabulary
from reidkit.datasets import ReIDConcatDataset
from synthgen.pipeline import GenerationPipeline

IR_CAMS = (3, 6)
PER_CAM = 2   # paper: 18 images per identity per infrared camera


def _pipeline(voc, toy_market, out_dir, view='camera'):
    return GenerationPipeline(
        source=dict(type='IdentityListSource',
                    identities=voc['gen_identities'], cameras=IR_CAMS,
                    modality=1),
        prompt_builder=dict(type='DiVEPromptBuilder',
                            codes_file=voc['codes']),
        generator=dict(type='DiVEToyIRGenerator', view=view, size=(64, 32),
                       attributes_file=osp.join(
                           toy_market, '_toy_annotations',
                           'attributes.jsonl')),
        writer=dict(out_dir=out_dir),
        num_variants=PER_CAM * len(IR_CAMS), seed=0, batch_size=4)


def _manifest_lines(out_dir):
    import glob
    lines = []
    for f in sorted(glob.glob(osp.join(out_dir, 'manifest*.jsonl'))):
        lines += [json.loads(ln) for ln in open(f)
                  if '"unit_done"' not in ln]
    return lines


def test_generated_ir_images_carry_their_external_identity(
        toy_sysu, toy_market, tmp_path):
    voc = run_vocabulary(
        dict(type='SYSUMM01', data_root=toy_sysu, split='train'),
        dict(type='DiVEExternalDataset', data_root=toy_market,
             folder='bounding_box_train', min_images=12),
        str(tmp_path / 'voc'))
    gen = json.load(open(voc['gen_identities']))
    codes = json.load(open(voc['codes']))['codes']
    out = str(tmp_path / 'ir')
    _pipeline(voc, toy_market, out).run(rank=0, world_size=1,
                                        progress=False)
    lines = _manifest_lines(out)
    assert len(lines) == len(gen) * PER_CAM * len(IR_CAMS)
    token = {g['pid']: g['token'] for g in gen}
    for ln in lines:
        # the prompt names the identity's token and its camera's code word
        assert ln['prompt'] == (f"a {codes['i%d' % ln['camid']]} photo of a "
                                f"{token[ln['pid']]} person")
        assert ln['modality'] == 1
    assert Counter((ln['pid'], ln['camid']) for ln in lines) == {
        (g['pid'], c): PER_CAM for g in gen for c in IR_CAMS}
    img = Image.open(osp.join(out, lines[0]['path']))
    assert img.size == (32, 64)

    # V* = V + V_ext and I* = I + I_ext in one label space
    train = ReIDConcatDataset(datasets=[
        dict(type='SYSUMM01', data_root=toy_sysu, split='train'),
        dict(type='DiVEExternalDataset', data_root=toy_market,
             folder='bounding_box_train', min_images=12,
             synthetic_root=out)])
    n_vi = json.load(open(voc['codes']))['num_vi_ids']
    samples = [train[i] for i in range(len(train))]
    ext = [s for s in samples if s['camid'] in (7,) or s['domain'] == 1]
    label_of_market = {}
    for s in ext:
        if s['modality'] == 0:
            label_of_market.setdefault(s['orig_pid'], s['pid'])
    assert sorted(label_of_market.values()) == \
        list(range(n_vi, n_vi + len(gen)))
    generated = [s for s in samples if s['domain'] == 1]
    assert len(generated) == len(lines)
    for s in generated:
        assert s['modality'] == 1 and s['camid'] in IR_CAMS
        assert s['pid'] == label_of_market[s['orig_pid']]
        assert token[s['orig_pid']] == f"<p{s['pid']}>"
    assert train.metainfo['num_pids'] == n_vi + len(gen)
    vi_labels = {s['pid'] for s in samples if s['domain'] == 0
                 and s['camid'] != 7}
    assert vi_labels == set(range(n_vi))


def test_generation_resumes_and_single_view_uses_one_code(
        toy_sysu, toy_market, tmp_path):
    voc = run_vocabulary(
        dict(type='SYSUMM01', data_root=toy_sysu, split='train'),
        dict(type='DiVEExternalDataset', data_root=toy_market,
             folder='bounding_box_train', min_images=12, max_ids=2),
        str(tmp_path / 'voc'), granularity='modality')
    out = str(tmp_path / 'ir')
    pipe = _pipeline(voc, toy_market, out, view='single')
    pipe.run(rank=0, world_size=1, progress=False)
    first = _manifest_lines(out)
    again = _pipeline(voc, toy_market, out, view='single').run(
        rank=0, world_size=1, progress=False)
    assert _manifest_lines(out) == first       # complete: nothing redone
    assert again.units_before == again.units_total == 2
    code = json.load(open(voc['codes']))['codes']['infrared']
    assert {ln['prompt'].split()[1] for ln in first} == {code}
    builder = DiVEPromptBuilder(voc['codes'])
    reqs = [dict(camid=3, attributes=dict(token='<p1>'))]
    builder(reqs)
    assert reqs[0]['adapter'] == 'default'
