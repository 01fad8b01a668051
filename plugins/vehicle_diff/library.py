"""Vehicle-Diff's attribute prompt library: one identity = one attribute combination.

File format (CSV with a header row, JSON list of objects, or JSONL), one row per
identity, written by :func:`write_library`::

    pid,brand,model,year,body_style,color
    0,toyota,corolla,2018,sedan,white
    1,ford,f-150,2015,pickup truck,red

``pid`` is the identity's label (0..N-1 in file order); ``brand``, ``model``,
``year`` (production year), ``body_style`` and ``color`` fill the paper's
template (Sec. III-A)::

    "a {color} {year} {brand} {model} {body_style} driving down the road."

Extra columns are kept (they reach the generator as request attributes). The
file is read by synthgen's ``PromptLibrarySource`` (one unit per row, its
columns become the record's ``attributes``) and the prompt is filled by
``AttributeTemplatePrompt(template=TEMPLATE)``.
"""
from __future__ import annotations

import csv
import json
import os
import os.path as osp
from itertools import product
from typing import Any, Dict, Iterable, List, Optional, Sequence

from synthgen.sources import SourceError, read_table
from synthgen.toyworld.vocab import (VEHICLE_BRANDS, VEHICLE_COLOR_NAMES,
                                     VEHICLE_ERAS, VEHICLE_TYPES)

__all__ = ['COLUMNS', 'TEMPLATE', 'COLORS', 'normalise_rows', 'read_library',
           'write_library', 'toy_library', 'TOY_ERA_YEARS', 'toy_attributes',
           'prompt_of']

#: The five attributes of an identity, in template order of the paper's table.
COLUMNS = ('brand', 'model', 'year', 'body_style', 'color')
#: The paper's final prompt template (Sec. III-A).
TEMPLATE = ('a {color} {year} {brand} {model} {body_style} driving down the '
            'road.')
#: The colour list of the CLIP colour filter: the paper names red, yellow,
#: green, white and black "such as"; we add the usual VeRi-776 colours.
COLORS = ('black', 'white', 'gray', 'silver', 'red', 'blue', 'yellow', 'green',
          'brown', 'orange', 'golden')

# common header spellings a user file may use -> our column
_ALIASES = {
    'make': 'brand', 'manufacturer': 'brand', 'car_model': 'model',
    'model_name': 'model', 'production_year': 'year', 'model_year': 'year',
    'body': 'body_style', 'body_type': 'body_style', 'bodystyle': 'body_style',
    'type': 'body_style', 'colour': 'color',
}


class LibraryError(SourceError):
    """An attribute library file lacks a column or has an empty value."""


def _key(name: str) -> str:
    k = str(name).strip().lower().replace(' ', '_').replace('-', '_')
    return _ALIASES.get(k, k)


def _clean(value: Any) -> str:
    text = ' '.join(str(value).split())
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text


def normalise_rows(rows: Iterable[Dict[str, Any]], name: str = 'library',
                   colors: Optional[Sequence[str]] = None,
                   lower: bool = True) -> List[Dict[str, Any]]:
    """Check and tidy library rows; drop repeated combinations; set ``pid``.

    Column names are matched case-insensitively with common aliases (``make``
    -> ``brand``, ``colour`` -> ``color``, ``production year`` -> ``year``,
    ...). Values are stripped of repeated white space (and lower-cased with
    ``lower``). Two rows with the same five attributes are one identity: the
    later one is dropped. ``pid`` is reassigned 0..N-1 in file order.

    Args:
        rows: Dicts with (at least) the :data:`COLUMNS`.
        name (str): File name for error messages.
        colors (Sequence[str], optional): Allowed colour words (e.g.
            :data:`COLORS`); rows with another colour stop with an error, so
            the CLIP colour filter can check every identity.
        lower (bool): Lower-case the values.

    Returns:
        list[dict]: ``pid`` first, then the five columns, then extras.
    """
    out, seen = [], set()
    allowed = None if colors is None else {c.lower() for c in colors}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise LibraryError(f'{name}: row {i} is not an object with the '
                               f'columns {list(COLUMNS)}')
        row = {_key(k): v for k, v in row.items() if k is not None}
        missing = [c for c in COLUMNS if c not in row]
        if missing:
            raise LibraryError(
                f'{name}: row {i} lacks {missing}; a vehicle library needs '
                f'the columns {list(COLUMNS)} (one row per identity)')
        vals = {}
        for c in COLUMNS:
            v = _clean(row[c])
            if not v:
                raise LibraryError(f'{name}: row {i} has an empty {c!r}')
            vals[c] = v.lower() if lower and c != 'year' else v
        if allowed is not None and vals['color'].lower() not in allowed:
            raise LibraryError(f'{name}: row {i} has colour {vals["color"]!r}, '
                               f'not one of {sorted(allowed)}')
        combo = tuple(vals[c] for c in COLUMNS)
        if combo in seen:
            continue
        seen.add(combo)
        extra = {k: v for k, v in row.items()
                 if k not in COLUMNS and k != 'pid'}
        out.append(dict(pid=len(out), **vals, **extra))
    if not out:
        raise LibraryError(f'{name}: no identities')
    return out


def read_library(path: str, colors: Optional[Sequence[str]] = None,
                 lower: bool = True, cross_colors: Optional[Sequence[str]] =
                 None) -> List[Dict[str, Any]]:
    """Read a user's CSV / JSON / JSONL library (see :func:`normalise_rows`).

    Args:
        path (str): The file.
        colors (Sequence[str], optional): Allowed colour words.
        lower (bool): Lower-case the values.
        cross_colors (Sequence[str], optional): For a catalogue of vehicle
            models without a ``color`` column (what one scrapes from a car
            website): every model becomes one identity per colour.
    """
    data = read_table(path)
    if isinstance(data, dict):  # {"rows": [...]} or {"identities": [...]}
        data = data.get('identities', data.get('rows'))
        if not isinstance(data, list):
            raise LibraryError(f'{path}: expected a list of rows (or an '
                               'object with "identities": [rows])')
    if cross_colors:
        data = [dict({k: v for k, v in r.items() if _key(k) != 'color'},
                     color=c) for r in data for c in cross_colors]
    return normalise_rows(data, name=path, colors=colors, lower=lower)


def write_library(rows: Sequence[Dict[str, Any]], path: str) -> str:
    """Write rows as CSV (``.csv``), JSONL (``.jsonl``) or JSON; atomic."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    ext = osp.splitext(path)[1].lower()
    with open(tmp, 'w', newline='', encoding='utf-8') as f:
        if ext == '.csv':
            cols = list(dict.fromkeys(['pid', *COLUMNS] +
                                      [k for r in rows for k in r]))
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
        elif ext == '.jsonl':
            f.writelines(json.dumps(r) + '\n' for r in rows)
        else:
            json.dump(list(rows), f, indent=1)
    os.replace(tmp, path)
    return path


def prompt_of(row: Dict[str, Any], template: str = TEMPLATE) -> str:
    """The paper's prompt for one library row."""
    return template.format(**row)


# ------------------------------------------------------------------ toy world
#: Production year standing for each toy era (the renderer's light/bumper look).
TOY_ERA_YEARS = {'classic': 1998, 'modern': 2010, 'recent': 2021}
_TOY_MODEL = {'sedan': 'saloon', 'suv': 'ranger', 'hatchback': 'city',
              'van': 'cargo', 'pickup': 'hauler', 'bus': 'transit',
              'truck': 'freighter'}


def toy_library(num_ids: Optional[int] = None, seed: int = 0,
                colors: Sequence[str] = VEHICLE_COLOR_NAMES
                ) -> List[Dict[str, Any]]:
    """A library over the toy world's vehicle vocabulary.

    Every (brand, body style, era, colour) combination of
    :mod:`synthgen.toyworld.vocab` is one identity (6 x 7 x 3 x 11 = 1,386);
    the toy "model" is named by body style (``'saloon'`` for sedans) and the
    production year stands for the era (:data:`TOY_ERA_YEARS`).
    ``num_ids`` draws that many combinations (seeded, without repetition).
    """
    import numpy as np
    rows = [dict(brand=b, model=_TOY_MODEL[t], year=TOY_ERA_YEARS[e],
                 body_style=t, color=c)
            for b, t, e, c in product(VEHICLE_BRANDS, VEHICLE_TYPES,
                                      VEHICLE_ERAS, colors)]
    if num_ids is not None:
        if not 0 < num_ids <= len(rows):
            raise ValueError(f'toy_library: num_ids must be in 1..{len(rows)}, '
                             f'got {num_ids}')
        idx = np.random.default_rng(seed).choice(len(rows), num_ids,
                                                 replace=False)
        rows = [rows[i] for i in sorted(idx)]
    return normalise_rows(rows, name='toy library')


def toy_attributes(row: Dict[str, Any]) -> Dict[str, Any]:
    """A toy library row as ``ToyWorldRenderer`` vehicle attributes."""
    years = sorted(TOY_ERA_YEARS.items(), key=lambda kv: kv[1])
    year = int(row['year'])
    era = min(years, key=lambda kv: abs(kv[1] - year))[0]
    return dict(brand=row['brand'], vehicle_type=row['body_style'], era=era,
                color=row['color'])
