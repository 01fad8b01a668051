"""VLM captioner and LLM summariser on tiny random LLaVA / Llama (offline)."""
import json
import os

os.environ.setdefault('HF_HUB_OFFLINE', '1')

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from synthgen.prompts.captioner import VLMCaptioner  # noqa: E402
from synthgen.prompts.summariser import (LLMSummariser,  # noqa: E402
                                         describe_outfit, majority_vote,
                                         parse_clothing_items)
from synthgen.testing import tiny_llava, tiny_llm  # noqa: E402

# the mechanism is generic: the words are the caller's (DLCR's live in
# plugins/dlcr/descriptions.py)
QUESTION = 'What clothes is the person wearing?'
INSTRUCTION = 'Extract the clothing items from the following text: {text}'
PARTS = dict(upper=['shirt', 't-shirt', 'coat'], lower=['jeans', 'trousers'],
             footwear=['shoes', 'sneakers', 'boots'])


@pytest.fixture(scope='module')
def llava():
    return tiny_llava()


@pytest.fixture(scope='module')
def llm():
    return tiny_llm()


def _images(n, size=(40, 24)):
    rng = np.random.RandomState(0)
    return [rng.randint(0, 255, size + (3,), dtype=np.uint8) for _ in range(n)]


def test_captioner_batched_and_as_prompt_builder(llava):
    model, processor = llava
    cap = VLMCaptioner(model=model, processor=processor, batch_size=2,
                       question=QUESTION, max_new_tokens=6,
                       prompt_template='{caption}, photo')
    cap.load()
    assert QUESTION in cap._text_prompt()
    imgs = _images(3)
    batched = cap.caption(imgs)
    assert len(batched) == 3 and all(isinstance(t, str) for t in batched)
    one = VLMCaptioner(model=model, processor=processor, batch_size=1,
                       question=QUESTION, max_new_tokens=6).caption(imgs)
    assert one == batched
    reqs = [dict(seed=0, image=im) for im in imgs[:2]]
    cap(reqs)
    assert reqs[0]['prompt'] == batched[0] + ', photo'
    assert reqs[0]['meta']['caption'] == batched[0]


def test_llm_batched_generation_matches_single(llm):
    model, tok = llm
    summ = LLMSummariser(model=model, tokenizer=tok, batch_size=3,
                         max_new_tokens=5, instruction=INSTRUCTION,
                         body_parts=PARTS)
    texts = ['a red shirt', 'He is wearing a long grey coat and boots.', 'x']
    batched = summ.extract(texts)
    single = [summ.extract([t])[0] for t in texts]
    assert batched == single
    chat = summ._chat('blue jeans')
    assert 'Extract the clothing items from the following text: blue jeans' \
        in chat and chat.endswith('ASSISTANT:')


def test_majority_vote_post_processing(llm, monkeypatch):
    assert parse_clothing_items(
        '1. Red T-shirt\n2. blue jeans and white sneakers', PARTS) == dict(
        upper='red t-shirt', lower='blue jeans', footwear='white sneakers')
    # labels, pronouns and sentences are parsed away; the order of the
    # vocabulary decides ('shoes' before 'upper': a "shoe coat" is footwear)
    assert parse_clothing_items(
        'Upper body: grey coat. He also has boots', PARTS) == dict(
        upper='grey coat', footwear='boots')
    assert parse_clothing_items('shoe coat', dict(
        footwear=['shoe'], upper=['coat'])) == dict(footwear='shoe coat')
    assert majority_vote([dict(upper=''), dict(upper='x')]) == dict(upper='x')
    assert majority_vote([dict(upper='a'), dict(upper='b'),
                          dict(upper='b', lower='c')]) == dict(upper='b',
                                                               lower='c')
    assert describe_outfit(dict(upper='red shirt')) == 'red shirt'
    model, tok = llm
    summ = LLMSummariser(model=model, tokenizer=tok, instruction=INSTRUCTION,
                         body_parts=PARTS)
    answers = {'c1': 'Upper body: red shirt\nLower body: blue jeans',
               'c2': '- red shirt\n- black jeans\n- white shoes',
               'c3': 'The person wears a pink shirt and blue jeans.'}
    monkeypatch.setattr(summ, 'extract', lambda texts: [answers[t]
                                                         for t in texts])
    out = summ.summarise({7: ['c1', 'c2', 'c3']})
    assert out == {7: 'red shirt, blue jeans and white shoes'}


def test_captioner_feeds_summariser_prompt_builder(llava, llm, tmp_path):
    model, processor = llava
    paths = []
    for i, im in enumerate(_images(4)):
        p = str(tmp_path / f'{i}.png')
        Image.fromarray(im).save(p)
        paths.append(p)
    records = [dict(key=f'{i}.png', source=p, pid=i // 2, clothes_id=i // 2)
               for i, p in enumerate(paths)]
    captioner = VLMCaptioner(model=model, processor=processor, batch_size=4,
                             max_new_tokens=4, question=QUESTION,
                             cache_file=str(tmp_path / 'captions.json'))
    lm, tok = llm
    cache = str(tmp_path / 'clothes.json')
    summ = LLMSummariser(model=lm, tokenizer=tok, captioner=captioner,
                         batch_size=4, max_new_tokens=4, cache_file=cache,
                         instruction=INSTRUCTION, body_parts=PARTS,
                         prompt_template='a person wearing {description}')
    summ.prepare(records)
    with open(cache) as f:
        saved = json.load(f)
    assert sorted(saved) == ['0', '1']
    caps = json.load(open(tmp_path / 'captions.json'))
    assert saved['0']['captions'] == [caps['0.png'], caps['1.png']]
    assert len(saved['0']['answers']) == 2
    reqs = [dict(seed=s, clothes_id=0, pid=0) for s in range(3)]
    summ(reqs)
    for r in reqs:
        assert r['meta']['target_clothes'] == 1 and r['clothes_id'] == -1
        assert r['prompt'] == 'a person wearing ' + saved['1']['description']
    # cached: a new builder without models' work reads the JSON
    again = LLMSummariser(model=lm, tokenizer=tok, cache_file=cache,
                          instruction=INSTRUCTION, body_parts=PARTS)
    again.prepare(records)
    assert again.descriptions == summ.descriptions


def test_blip2_captioner_question_and_plain_caption():
    from synthgen.testing import tiny_blip2
    model, processor = tiny_blip2()
    imgs = _images(3)
    cap = VLMCaptioner(model=model, processor=processor, model_type='blip2',
                       question=QUESTION, max_new_tokens=4, batch_size=2)
    cap.load()
    assert cap._text_prompt() == f'Question: {QUESTION} Answer:'
    answers = cap.caption(imgs)
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    # Vehicle-Diff: plain captions, no question
    plain = VLMCaptioner(model=model, processor=processor, model_type='blip2',
                         question='', max_new_tokens=4, batch_size=3)
    assert len(plain.caption(imgs)) == 3
    default = VLMCaptioner(model=model, processor=processor,
                           model_type='blip2')
    assert default.question == '' and default._text_prompt() == ''
    with pytest.raises(ValueError, match='model_type'):
        VLMCaptioner(model=model, processor=processor, model_type='gpt')


def test_summariser_needs_its_words(llm):
    model, tok = llm
    with pytest.raises(ValueError, match='instruction'):
        LLMSummariser(model=model, tokenizer=tok, body_parts=PARTS)
    with pytest.raises(ValueError, match='body_parts'):
        LLMSummariser(model=model, tokenizer=tok, instruction=INSTRUCTION)


def test_captions_by_relative_path_feed_the_finetune_dataset(tmp_path):
    """caption_records(relative_to=root) writes {relpath: caption}, the file
    CaptionedImageDataset(data_root=root) reads (was keyed by record key)."""
    from synthgen.finetune import CaptionedImageDataset
    from synthgen.testing import tiny_blip2
    model, processor = tiny_blip2()
    root = tmp_path / 'veri'
    (root / 'image_train').mkdir(parents=True)
    records = []
    for i, im in enumerate(_images(3)):
        p = root / 'image_train' / f'000{i}_c001.jpg'
        Image.fromarray(im).save(p)
        records.append(dict(key=f'{i:08d}', source=str(p)))
    cache = str(root / 'captions.json')
    cap = VLMCaptioner(model=model, processor=processor, model_type='blip2',
                       question='', max_new_tokens=4, cache_file=cache)
    out = cap.caption_records(records, relative_to=str(root))
    assert list(out) == [f'image_train/000{i}_c001.jpg' for i in range(3)]
    assert out == json.load(open(cache))
    assert list(out.values()) == cap.caption([r['source'] for r in records])
    ds = CaptionedImageDataset(str(root), 'captions.json', size=(16, 16))
    assert [d['caption'] for d in ds.data_list] == list(out.values())
    with pytest.raises(ValueError, match='not inside'):
        cap.caption_records([dict(key='x', source=str(tmp_path / 'a.jpg'))],
                            relative_to=str(root))
