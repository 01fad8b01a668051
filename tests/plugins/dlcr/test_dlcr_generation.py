"""DLCR generation: target sampling, descriptions, source + prompt builder on
the synthgen pipeline, and the inpainting stage with a tiny SD model."""
import json
import os

import numpy as np
import pytest

from plugins.dlcr.descriptions import (DescriptionBank, ToyAttributeDescriber,
                                       VLMLLMDescriber, compose_prompt,
                                       majority_by_part, part_of_item,
                                       split_items, toy_part_descriptions)
from plugins.dlcr.generation import (DLCRPromptBuilder, DLCRSource,
                                     sample_target_clothes,
                                     target_permutation)


def test_targets_uniform_among_other_clothes():
    ids = list(range(12))
    counts = np.zeros(12)
    for n in range(3000):
        src = n % 12
        t = sample_target_clothes(f'img{n}.jpg', src, ids, k=10, seed=1)
        assert src not in t
        assert len(set(t)) == 10          # K different clothes ids
        counts[t] += 1
    # every id is a target equally often (uniform over the others)
    assert np.all(np.abs(counts - counts.mean()) < 0.05 * counts.mean())
    # deterministic; distinct for the first |C| - 1 variants, then cycles
    t = sample_target_clothes('a', 0, [0, 1, 2], 5)
    assert t == sample_target_clothes('a', 0, [0, 1, 2], 5)
    assert set(t[:2]) == {1, 2} and t[2:4] == t[:2]
    with pytest.raises(ValueError, match='no clothes id other'):
        target_permutation('a', 4, [4], 0)


def test_majority_vote_and_parts():
    descs = [{'upper': 'red shirt', 'lower': 'blue jeans'},
             {'upper': 'blue shirt', 'lower': 'blue jeans'},
             {'upper': 'blue shirt', 'shoes': 'black shoes'},
             {'upper': 'red shirt'}]
    # red and blue shirts tie 2-2: the first seen wins
    assert majority_by_part(descs) == {'upper': 'red shirt',
                                       'lower': 'blue jeans',
                                       'shoes': 'black shoes'}
    assert compose_prompt({'upper': 'red shirt', 'lower': 'blue jeans',
                           'shoes': 'black shoes'}) == \
        'a person wearing red shirt, blue jeans and black shoes'
    assert part_of_item('white running sneakers') == 'shoes'
    assert part_of_item('jean jacket') == 'upper'
    assert part_of_item('ripped jeans') == 'lower'
    assert part_of_item('sunglasses') is None
    assert split_items('The person is wearing a red shirt, blue jeans and '
                       'white sneakers.') == ['red shirt', 'blue jeans',
                                              'white sneakers']
    # the LLM listed two upper garments: keep the one in most captions
    parts = VLMLLMDescriber.vote(
        ['grey hoodie', 'black jacket', 'blue jeans'],
        ['a man in a black jacket', 'black jacket and jeans',
         'a grey hoodie'])
    assert parts == {'upper': 'black jacket', 'lower': 'blue jeans'}


def test_toy_descriptions_and_bank(tmp_path):
    a = dict(upper_color='red', upper_pattern='stripes', upper_color2='white',
             sleeve='short', lower_color='navy', lower_type='skirt',
             shoes_color='black')
    assert toy_part_descriptions(a) == {
        'upper': 'red and white striped t-shirt', 'lower': 'navy skirt',
        'shoes': 'black shoes'}
    recs = [dict(key=f'k{i}', clothes_id=-1,
                 extra=dict(source_clothes=i // 3), attributes=dict(
                     a, lower_color='navy' if i % 3 else 'green'))
            for i in range(6)]
    bank = ToyAttributeDescriber()(recs)
    assert bank.ids() == [0, 1]
    assert 'navy skirt' in bank[0]
    path = str(tmp_path / 'd.json')
    bank.save(path)
    again = DescriptionBank.load(path)
    assert again[1] == bank[1]
    with open(path, 'w') as f:
        json.dump({'x': 1}, f)
    with pytest.raises(ValueError, match='not a DLCR description file'):
        DescriptionBank.load(path)


def test_vlm_llm_describer_with_tiny_models(toy_prcc):
    from synthgen.testing import tiny_llava, tiny_llm
    vmodel, vproc = tiny_llava()
    lmodel, ltok = tiny_llm()
    desc = VLMLLMDescriber(
        vlm=dict(model=vmodel, processor=vproc, max_new_tokens=4,
                 batch_size=3, device='cpu'),
        llm=dict(model=lmodel, processor=ltok, max_new_tokens=4,
                 batch_size=2, device='cpu'), max_images=2)
    src = DLCRSource(dict(type='PRCC', split='train'),
                     dict(type='ToyWorldMaskProvider'), data_root=toy_prcc)
    recs = src.load()[:12]
    bank = desc(recs)
    cids = sorted({r['extra']['source_clothes'] for r in recs})
    assert bank.ids() == cids
    for c in cids:
        entry = bank.clothes[c]
        assert 1 <= len(entry['captions']) <= 2
        assert isinstance(entry['summary'], str)
        assert entry['prompt'].startswith('a person wearing')


def _pipeline(toy_prcc, tmp_path, generator, num_variants=3, **builder):
    from synthgen.pipeline import GenerationPipeline
    return GenerationPipeline(
        source=dict(type='DLCRSource', data_root=toy_prcc,
                    dataset=dict(type='PRCC', split='train'),
                    mask_provider=dict(type='ToyWorldMaskProvider'), limit=6),
        prompt_builder=dict(type='DLCRPromptBuilder',
                            descriptions=str(tmp_path / 'desc.json'),
                            describer=dict(type='toy'), seed=0, **builder),
        generator=generator, writer=dict(out_dir=str(tmp_path / 'out'),
                                         img_format='png', fsync=False),
        num_variants=num_variants, seed=0, batch_size=6)


def test_generation_stage_recolor(toy_prcc, tmp_path):
    import plugins.dlcr  # noqa: F401
    from reidkit.datasets.synthetic import read_manifest
    pipe = _pipeline(toy_prcc, tmp_path, dict(type='RecolorInpainter'))
    summary = pipe.run(0, 1, progress=False)
    assert summary.kept == 18
    assert pipe.is_complete()
    bank = DescriptionBank.load(str(tmp_path / 'desc.json'))
    lines = read_manifest(str(tmp_path / 'out' / 'manifest.rank0.jsonl'))
    assert len(lines) == 18
    records = {r['source']: r for r in pipe.source.load()}
    for e in lines:
        rec = records[e['source']]
        assert e['source_clothes'] == rec['extra']['source_clothes']
        assert e['target_clothes'] != e['source_clothes']
        assert e['target_clothes'] in bank
        assert e['prompt'] == bank[e['target_clothes']]
        assert e['clothes_id'] == -1 and e['pid'] == rec['pid']
        assert e['attributes']['dlcr_variant'] == e['variant']
        # only clothing pixels changed
        from synthgen.sources import load_image
        src = load_image(e['source'])
        out = load_image(os.path.join(str(tmp_path / 'out'), e['path']))
        mask = pipe.source.provider([e['source']])[0]
        assert (src[mask == 0] == out[mask == 0]).all()
    # resumable: a second run has nothing to do
    assert pipe.run(0, 1, progress=False).units_run == 0


def test_inpainting_stage_tiny_sd(toy_prcc, tmp_path):
    import plugins.dlcr  # noqa: F401
    from synthgen.testing import tiny_sd_pipeline
    gen = dict(type='DiffusersInpainter', pipeline=tiny_sd_pipeline('inpaint'),
               height=32, width=16, num_inference_steps=2, guidance_scale=7.5,
               batch_size=3, device='cpu')
    pipe = _pipeline(toy_prcc, tmp_path, gen, num_variants=2)
    pipe._cfg['source']['limit'] = 2
    summary = pipe.run(0, 1, progress=False)
    assert summary.kept == 4
