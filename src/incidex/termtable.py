"""CLI tables that fit the terminal: one line per row, columns chosen and cut by width.

Wrapping cells at 80 columns broke words ("successf ul") and made 50 incidents
237 lines. Here every cell stays on its line (rich's ``no_wrap``) and a text
too long for its column ends in an ellipsis, never in the middle of a broken
word. When even the narrowest useful widths do not fit, the least important
columns (highest ``Col.drop``) are left out and named in the caption; space
left over is shared out evenly among the columns that want more. ``wide``
shows every column at its full width, however wide the lines get (for a
pager, a file or ``less -S``).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich import box
from rich.table import Table


@dataclass(frozen=True)
class Col:
    name: str
    drop: int = 0          # 0: always shown; when too narrow, higher numbers are left out first
    min: int = 6           # the narrowest it is drawn (shorter values keep their own width)
    max: int | None = None  # the widest it is drawn unless ``wide``
    justify: str = "left"


#: Between two columns in the box style used (``SIMPLE_HEAD`` without its edge): padding and rule.
_GAP = 3


def _width(text: str) -> int:
    return max((len(line) for line in text.split("\n")), default=0)


def fit_table(columns: Sequence[Col | str], rows: Iterable[Sequence[str]], width: int,
              wide: bool = False) -> Table:
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    data = [[str(v) for v in r] for r in rows]
    natural = [max([len(c.name)] + [_width(r[i]) for r in data]) for i, c in enumerate(cols)]
    shown = list(range(len(cols)))
    if not wide:
        def floor(i: int) -> int:
            return min(natural[i], max(cols[i].min, 1))

        while len(shown) > 1 and sum(floor(i) for i in shown) + _GAP * (len(shown) - 1) > width:
            droppable = [i for i in shown if cols[i].drop > 0]
            if not droppable:
                break
            shown.remove(max(droppable, key=lambda i: (cols[i].drop, i)))
        cap = {i: natural[i] if cols[i].max is None else min(natural[i], max(cols[i].max, floor(i))) for i in shown}
        widths = {i: floor(i) for i in shown}
        spare = width - sum(widths.values()) - _GAP * (len(shown) - 1)
        while spare > 0:  # share the rest evenly among the columns that want more
            wanting = [i for i in shown if widths[i] < cap[i]]
            if not wanting:
                break
            for i in wanting:
                if spare <= 0:
                    break
                widths[i] += 1
                spare -= 1
    else:
        widths = {i: natural[i] for i in shown}
    left_out = [cols[i].name for i in range(len(cols)) if i not in shown]
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False, collapse_padding=False,
              caption=f"(not shown: {', '.join(left_out)}; --wide for every column)" if left_out else None,
              caption_justify="left")
    for i in shown:
        t.add_column(cols[i].name, width=widths[i], no_wrap=True, overflow="ellipsis", justify=cols[i].justify)
    for r in data:
        t.add_row(*(r[i] for i in shown))
    t.planned_width = sum(widths.values()) + _GAP * (len(shown) - 1)  # type: ignore[attr-defined]
    return t

