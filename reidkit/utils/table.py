"""Print metric dicts as tables (rich when available, plain text otherwise)."""
from __future__ import annotations

from typing import Mapping, Sequence


def format_metrics(metrics: Mapping[str, float], title: str = '') -> str:
    """Plain-text table of ``metrics`` grouped by prefix (``cc/mAP`` -> row
    ``cc``, ``plain/cc/mAP`` -> row ``plain/cc``).

    Args:
        metrics (Mapping[str, float]): e.g. ``{'mAP': 61.2, 'R1': 80.0}``.
        title (str): printed above the table.

    Returns:
        str: the table.

    Example:
        >>> print(format_metrics({'sc/mAP': 90.0, 'cc/mAP': 40.0}))
    """
    rows: dict = {}
    columns: list = []
    for key, value in metrics.items():
        group, _, name = key.rpartition('/')
        group = group or 'all'  # 'plain/sc/mAP' -> row 'plain/sc'
        rows.setdefault(group, {})[name] = value
        if name not in columns:
            columns.append(name)
    return format_table(
        ['setting', *columns],
        [[group, *[_fmt(vals.get(c)) for c in columns]]
         for group, vals in rows.items()], title)


def format_table(header: Sequence[str], rows: Sequence[Sequence],
                 title: str = '') -> str:
    """Format rows of cells as an aligned text table."""
    cells = [[str(c) for c in header]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    out = [title] if title else []
    out.append(line)
    for i, row in enumerate(cells):
        out.append('| ' + ' | '.join(c.rjust(w) if j else c.ljust(w)
                                     for j, (c, w) in enumerate(zip(row, widths)))
                   + ' |')
        if i == 0:
            out.append(line)
    out.append(line)
    return '\n'.join(out)


def print_metrics(metrics: Mapping[str, float], title: str = '') -> None:
    """Print ``metrics`` as a table (see :func:`format_metrics`)."""
    print(format_metrics({k: v for k, v in (metrics or {}).items()
                          if isinstance(v, (int, float))}, title), flush=True)


def _fmt(value) -> str:
    if value is None:
        return '-'
    return f'{value:.2f}' if isinstance(value, float) else str(value)
