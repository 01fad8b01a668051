"""DiVE's fine-tuning vocabulary: identity tokens, modality / camera code
words and the captions "a [k] photo of [p] person".

Paper (Dai et al., "Diffusion-based Synthetic Data Generation for
Visible-Infrared Person Re-Identification"): one learnable identity token
``[p]`` per identity, shared by its visible and infrared images; one fixed
random code word ``[k]`` per modality, refined to one per camera ("multi
view"); 8 characters per code word (e.g. ``b8zBXKoH``); one LoRA branch per
modality.

Authors' code (BorgDiven/DiVE ``Preprocess/c2hf_revised.py``,
``train_t2i_lora_ti.py``, ``generate_t2i.py``): one code word per camera,
the external RGB set being one more camera (``cam7`` on SYSU-MM01); 4
characters each, no character shared between two code words; tokens
``<class_N>``; captions and prompts ``"a {code} photo of a {token}
person"``; a single LoRA for every image.

Default here: the authors' code (per camera, 4 characters, one shared
LoRA), since it produced the published numbers; ``code_length=8`` and
``lora='modality'`` give the paper's text. The identity token of the
identity with training label ``y`` in the joint space V* = V + V_ext (VI
labels first, then the external ones) is ``token_template.format(y)``, so
tokens, captions and re-ID labels share one numbering.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import string
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

#: 62 characters the authors draw code words from
CODE_ALPHABET = string.ascii_letters + string.digits
CAPTION_TEMPLATE = 'a {code} photo of a {token} person'
GRANULARITIES = ('camera', 'modality')
LORA_MODES = ('shared', 'modality')
MODALITY_NAMES = ('visible', 'infrared')


def random_code_words(count: int, length: int = 4, seed: int = 0,
                      disjoint: Optional[bool] = None) -> List[str]:
    """``count`` distinct random code words of ``length`` characters.

    ``disjoint=True`` (the authors): no character appears in two words,
    which needs ``count * length <= 62``; None: disjoint when that holds,
    else only distinct words.

    Example:
        >>> random_code_words(3, 4, seed=0)  # doctest: +SKIP
        ['W5Eq', '2Agp', '8miP']
    """
    if count < 0 or length <= 0:
        raise ValueError(f'random_code_words: need count >= 0 and length > 0,'
                         f' got {count}, {length}')
    fits = count * length <= len(CODE_ALPHABET)
    if disjoint is None:
        disjoint = fits
    if disjoint and not fits:
        raise ValueError(f'random_code_words: {count} code words of {length} '
                         f'characters cannot be disjoint (only '
                         f'{len(CODE_ALPHABET)} characters); use '
                         'disjoint=False')
    rng = np.random.default_rng(seed)
    chars = np.array(list(CODE_ALPHABET))
    if disjoint:
        pool = rng.permutation(chars)
        return [''.join(pool[i * length:(i + 1) * length])
                for i in range(count)]
    words: List[str] = []
    while len(words) < count:
        word = ''.join(rng.choice(chars, length))
        if word not in words:
            words.append(word)
    return words


def view_key(modality: int, camid: int, external: bool = False) -> str:
    """Name of a camera view: ``'v3'`` / ``'i3'`` (visible / infrared camera
    3 of the VI set) or ``'ext'`` (the external RGB set, one camera)."""
    if external:
        return 'ext'
    return f"{'vi'[int(modality)]}{int(camid)}"


def build_vocabulary(vi_samples: Sequence[dict],
                     ext_samples: Sequence[dict] = (),
                     granularity: str = 'camera', code_length: int = 4,
                     lora: str = 'shared', seed: int = 0,
                     token_template: str = '<p{}>',
                     caption_template: str = CAPTION_TEMPLATE) -> dict:
    """Tokens, code words and captions of a VI training set (+ external).

    Args:
        vi_samples (list[dict]): training samples of SYSU-MM01 / LLCM with
            ``img_path``, ``pid`` (train label 0..N-1), ``camid``,
            ``modality``.
        ext_samples (list[dict]): external RGB samples (``img_path``,
            ``pid`` = label 0..M-1 of the external set); labels become
            ``N + pid``.
        granularity (str): ``'camera'`` (one code word per camera view, the
            external set being one view) or ``'modality'`` (one per
            modality; the external set is visible).
        code_length (int): characters per code word (code 4, paper 8).
        lora (str): ``'shared'`` (adapter ``'default'``, the code) or
            ``'modality'`` (adapters ``'visible'`` / ``'infrared'``).
        seed (int): code-word seed.
        token_template (str): identity token of label ``y``.
        caption_template (str): with ``{code}`` and ``{token}``.

    Returns:
        dict: ``tokens`` (list, index = label), ``codes`` (view -> word),
        ``views`` (view -> dict(modality, camid)), ``captions`` (image path
        -> dict(caption, adapter)), ``identities`` (list of dict(label,
        token, source, pid)), ``num_vi_ids``, ``settings``.

    Example:
        >>> voc = build_vocabulary([dict(img_path='a.jpg', pid=0, camid=1,
        ...                              modality=0)])
        >>> voc['captions']['a.jpg']['caption']  # doctest: +SKIP
        'a W5Eq photo of a <p0> person'
    """
    if granularity not in GRANULARITIES:
        raise ValueError(f'granularity must be one of {GRANULARITIES}, got '
                         f'{granularity!r}')
    if lora not in LORA_MODES:
        raise ValueError(f'lora must be one of {LORA_MODES}, got {lora!r}')
    vi_ids = sorted({int(s['pid']) for s in vi_samples})
    if vi_ids != list(range(len(vi_ids))):
        raise ValueError('build_vocabulary: VI pids must be train labels '
                         '0..N-1 (a train split of a reidkit dataset)')
    n_vi = len(vi_ids)
    ext_ids = sorted({int(s['pid']) for s in ext_samples})
    if ext_ids != list(range(len(ext_ids))):
        raise ValueError('build_vocabulary: external pids must be labels '
                         '0..M-1')
    entries = [(s, False) for s in vi_samples] + \
        [(s, True) for s in ext_samples]

    def view_of(s, ext):
        if granularity == 'modality':
            return MODALITY_NAMES[0 if ext else int(s['modality'])]
        return view_key(s.get('modality', 0), s.get('camid', 0), ext)

    views: Dict[str, dict] = {}
    for s, ext in entries:
        views.setdefault(view_of(s, ext), dict(
            modality=0 if ext else int(s['modality']),
            camid=None if ext else int(s['camid'])))
    names = sorted(views, key=lambda v: (v == 'ext', views[v]['modality'],
                                         v))
    words = random_code_words(len(names), code_length, seed)
    codes = dict(zip(names, words))
    labels = list(range(n_vi + len(ext_ids)))
    tokens = [token_template.format(y) for y in labels]
    captions = {}
    for s, ext in entries:
        label = int(s['pid']) + (n_vi if ext else 0)
        modality = 0 if ext else int(s['modality'])
        adapter = 'default' if lora == 'shared' else MODALITY_NAMES[modality]
        captions[s['img_path']] = dict(
            caption=caption_template.format(code=codes[view_of(s, ext)],
                                            token=tokens[label]),
            adapter=adapter)
    ext_source = {int(s['pid']): s.get('source_pid', s['pid'])
                  for s in ext_samples}
    identities = [dict(label=y, token=tokens[y], source='vi', pid=y)
                  for y in range(n_vi)]
    identities += [dict(label=n_vi + e, token=tokens[n_vi + e],
                        source='external', pid=int(ext_source[e]))
                   for e in ext_ids]
    return dict(tokens=tokens, codes=codes, views=views, captions=captions,
                identities=identities, num_vi_ids=n_vi,
                settings=dict(granularity=granularity,
                              code_length=code_length, lora=lora, seed=seed,
                              token_template=token_template,
                              caption_template=caption_template))


def _atomic_json(obj, path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def write_vocabulary(vocab: dict, out_dir: str) -> Dict[str, str]:
    """Write ``captions.json`` (for ``CaptionedImageDataset``),
    ``tokens.json`` (for ``DiffusionLoRAModel``'s textual inversion),
    ``codes.json`` (codes, views, settings) and ``identities.json``; each
    file is written to a temporary name then renamed.

    Returns:
        dict[str, str]: file kind -> path.
    """
    paths = {k: osp.join(out_dir, f'{k}.json')
             for k in ('captions', 'tokens', 'codes', 'identities')}
    _atomic_json(vocab['captions'], paths['captions'])
    _atomic_json(vocab['tokens'], paths['tokens'])
    _atomic_json(dict(codes=vocab['codes'], views=vocab['views'],
                      num_vi_ids=vocab['num_vi_ids'],
                      settings=vocab['settings']), paths['codes'])
    _atomic_json(vocab['identities'], paths['identities'])
    return paths


def ir_views(codes: dict, cameras: Iterable[int]) -> Dict[int, str]:
    """Code word of each infrared camera: its own (camera granularity) or
    the infrared one (modality granularity)."""
    out = {}
    for c in cameras:
        key = view_key(1, c)
        if key in codes:
            out[int(c)] = codes[key]
        elif 'infrared' in codes:
            out[int(c)] = codes['infrared']
        else:
            raise KeyError(f'no code word for infrared camera {c} (have '
                           f'{sorted(codes)})')
    return out
