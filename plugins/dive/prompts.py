"""DiVE's generation prompts: ``"a {code} photo of a {token} person"`` with
the code word of the infrared camera to render and the identity token of
the external identity (the authors' ``generate_t2i.py`` default prompt)."""
from __future__ import annotations

import json
from typing import Any, Dict, List

from synthgen.registry import PROMPT_BUILDERS

from .vocabulary import CAPTION_TEMPLATE, MODALITY_NAMES, ir_views


@PROMPT_BUILDERS.register_module()
class DiVEPromptBuilder:
    """Prompt of one generated infrared image of an external identity.

    Each request's ``camid`` (an infrared camera, from
    ``IdentityListSource(cameras=...)``) picks the code word: that camera's
    own (vocabulary built per camera: the "multi-view" of Table 3) or the
    infrared one (per modality: "single view"); ``attributes['token']`` (the
    identity rows :func:`plugins.dive.pipeline.generation_identities` writes)
    is the identity token. ``adapter`` is set for the LoRA branch:
    ``'default'`` (one shared LoRA) or ``'infrared'`` (one per modality).

    Args:
        codes_file (str): ``codes.json`` of :func:`write_vocabulary`.
        template (str): with ``{code}`` and ``{token}``. Defaults to the
            authors' ``'a {code} photo of a {token} person'``.

    Example:
        >>> builder = DiVEPromptBuilder('work_dirs/dive/codes.json')
        >>> reqs = [dict(camid=3, attributes=dict(token='<p395>'))]
        >>> builder(reqs); reqs[0]['prompt']  # doctest: +SKIP
        'a 8miP photo of a <p395> person'
    """

    def __init__(self, codes_file: str, template: str = CAPTION_TEMPLATE
                 ) -> None:
        with open(codes_file) as f:
            info = json.load(f)
        if 'codes' not in info:
            raise KeyError(f'{codes_file}: no "codes" (write it with '
                           'plugins.dive.vocabulary.write_vocabulary)')
        self.codes = info['codes']
        self.lora = info.get('settings', {}).get('lora', 'shared')
        self.template = template

    def __call__(self, requests: List[Dict[str, Any]]) -> None:
        for req in requests:
            token = (req.get('attributes') or {}).get('token')
            if not token:
                raise KeyError('DiVEPromptBuilder: the source record has no '
                               "'token' attribute (identity rows need pid "
                               'and token)')
            code = ir_views(self.codes, [req['camid']])[int(req['camid'])]
            req['prompt'] = self.template.format(code=code, token=token)
            req['adapter'] = ('default' if self.lora == 'shared'
                              else MODALITY_NAMES[1])
            req.setdefault('meta', {})['dive_code'] = code
