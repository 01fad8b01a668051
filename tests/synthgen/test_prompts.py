"""Template prompt builders."""
import json

import pytest

from synthgen.prompts import (AttributeTemplatePrompt, ClothesSwapPrompt,
                              FixedPrompts)
from synthgen.registry import PROMPT_BUILDERS


def _reqs(n, **kw):
    return [dict(seed=i, index=i, attributes=dict(kw.get('attributes', {})),
                 **{k: v for k, v in kw.items() if k != 'attributes'})
            for i in range(n)]


def test_template_from_request_attributes_and_library(tmp_path):
    csv = tmp_path / 'lib.csv'
    csv.write_text('color,type\nred,sedan\nblue,suv\nwhite,van\n')
    b = AttributeTemplatePrompt('a {color} {type} on a {scene}',
                                library=str(csv), defaults=dict(scene='road'))
    reqs = _reqs(30)
    b(reqs)
    rows = {('red', 'sedan'), ('blue', 'suv'), ('white', 'van')}
    seen = set()
    for r in reqs:
        words = r['prompt'].split()
        assert (words[1], words[2]) in rows   # one coherent row per request
        assert r['prompt'].endswith('on a road')
        seen.add(words[1])
    assert len(seen) == 3
    # request attributes win; same seed -> same prompt
    reqs2 = _reqs(30, attributes=dict(color='green'))
    b(reqs2)
    assert all(r['prompt'].startswith('a green ') for r in reqs2)
    again = _reqs(30)
    b(again)
    assert [r['prompt'] for r in again] == [r['prompt'] for r in reqs]


def test_template_json_lists_and_missing_field(tmp_path):
    lib = tmp_path / 'lib.json'
    lib.write_text(json.dumps({'color': ['red', 'blue'], 'pattern': ['plain']}))
    b = PROMPT_BUILDERS.build(dict(type='AttributeTemplatePrompt',
                                   template='a {color}  {pattern} shirt ,',
                                   library=str(lib)))
    reqs = _reqs(4)
    b(reqs)
    assert all(r['prompt'] in ('a red plain shirt,', 'a blue plain shirt,')
               for r in reqs)
    bad = AttributeTemplatePrompt('a {colour} car', library=str(lib))
    with pytest.raises(KeyError, match="'colour'"):
        bad(_reqs(1))
    with pytest.raises(Exception, match='does not exist'):
        AttributeTemplatePrompt('{a}', library=str(tmp_path / 'none.csv'))


def test_fixed_prompts(tmp_path):
    b = FixedPrompts(['a', 'b', 'c'])
    reqs = _reqs(5)
    b(reqs)
    assert [r['prompt'] for r in reqs] == ['a', 'b', 'c', 'a', 'b']
    txt = tmp_path / 'p.txt'
    txt.write_text('one\n\ntwo\n')
    r = _reqs(20)
    FixedPrompts(str(txt), order='random')(r)
    assert {x['prompt'] for x in r} == {'one', 'two'}
    with pytest.raises(ValueError, match='empty'):
        FixedPrompts([])


def test_clothes_swap_uses_other_clothes_ids():
    recs = [dict(clothes_id=c, pid=c // 2,
                 attributes=dict(upper_color=col, lower_color='black',
                                 lower_type='trousers', shoes_color='white',
                                 upper_pattern='plain'))
            for c, col in enumerate(['red', 'blue', 'green', 'pink'])]
    b = ClothesSwapPrompt()
    b.prepare(recs)
    reqs = _reqs(40, clothes_id=1, pid=0)
    b(reqs)
    targets = {r['meta']['target_clothes'] for r in reqs}
    assert targets == {0, 2, 3}          # never its own outfit
    for r in reqs:
        colour = ['red', 'blue', 'green', 'pink'][r['meta']['target_clothes']]
        assert r['prompt'].startswith(f'a person wearing a {colour} ')
        assert r['clothes_id'] == -1 and r['meta']['source_clothes'] == 1
    # the variants of one unit get distinct targets
    unit = [dict(r, unit=0, variant=k) for k, r in enumerate(_reqs(3, clothes_id=1,
                                                                  pid=0))]
    b(unit)
    assert sorted(r['meta']['target_clothes'] for r in unit) == [0, 2, 3]
    same = ClothesSwapPrompt(same_pid=True)
    same.prepare(recs)
    reqs = _reqs(10, clothes_id=1, pid=0)
    same(reqs)
    assert {r['meta']['target_clothes'] for r in reqs} == {0}
    rnd = ClothesSwapPrompt(p_random=1.0)
    rnd.prepare(recs)
    reqs = _reqs(5, clothes_id=1, pid=0)
    rnd(reqs)
    assert {r['meta']['target_clothes'] for r in reqs} == {-1}
