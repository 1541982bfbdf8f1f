"""Charts as inline SVG, drawn on the server (no chart library, nothing fetched by the browser).

Colours come from CSS classes (``t-<attack type>``, ``bar``) in the app's one
stylesheet, so the charts follow the page's theme and need no inline styles
(the Content-Security-Policy allows none). Every text is escaped.
"""
from __future__ import annotations

from datetime import date
from html import escape

from markupsafe import Markup

from incidex.records import ATTACK_TYPES


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _months(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    ly, lm = int(last[:4]), int(last[5:7])
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _nice_max(n: int) -> int:
    """An axis maximum at or above ``n`` whose quarters are round whole numbers (4, 8, 20, 40, 200...)."""
    for power in range(0, 12):
        for step in (1, 2, 5):
            if 4 * step * 10 ** power >= n:
                return 4 * step * 10 ** power
    return n


def month_label(month: str) -> str:
    """``2021-02`` -> ``Feb 2021``: every tick says its year, so a chart over several years never
    shows a bare "Jun" whose year the reader has to count back to."""
    return date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


def undated_note(undated: int, year_only: int) -> str:
    """What a monthly chart leaves out, said under it ("149 undated, 12 year-only not on the chart"),
    so a count never silently drops incidents; empty when it leaves out none."""
    parts = [f"{undated:,} undated"] if undated else []
    parts += [f"{year_only:,} year-only"] if year_only else []
    return ", ".join(parts) + " not on the chart" if parts else ""


def _note(text: str) -> str:
    return f'<p class="chart-note small muted">{_e(text)}</p>' if text else ""


def stacked_months(rows: list[dict], *, max_months: int = 48, width: int = 860, height: int = 260,
                   left_out: str = "") -> Markup:
    """Incidents per month, one stacked bar per month, one colour per attack type.

    ``rows``: ``{"month": "YYYY-MM", "type": ..., "count": n}``. Months without
    incidents between the first and the last are drawn empty; only the last
    ``max_months`` are shown, and a note under the chart says how many earlier
    months it leaves out, after ``left_out`` (what the rows cannot hold, e.g.
    ``undated_note``). An incident of two types counts in both.
    """
    if not rows:
        return Markup('<p class="empty">No incident dated to the month.</p>' + _note(left_out))
    every_month = _months(min(r["month"] for r in rows), max(r["month"] for r in rows))
    months = every_month[-max_months:]
    if len(every_month) > len(months):
        earlier = f"{len(every_month) - len(months)} earlier months (before {month_label(months[0])}) not shown"
        left_out = f"{left_out}; {earlier}" if left_out else earlier
    shown = set(months)
    per: dict[str, dict[str, int]] = {mo: {} for mo in months}
    for r in rows:
        if r["month"] in shown:
            per[r["month"]][r["type"]] = per[r["month"]].get(r["type"], 0) + r["count"]
    types = [t for t in ATTACK_TYPES if any(t in c for c in per.values())]
    types += sorted({t for c in per.values() for t in c} - set(types))
    top = _nice_max(max((sum(c.values()) for c in per.values()), default=1))
    left, right, tpad, bottom = 44, 8, 10, 34
    plot_w, plot_h = width - left - right, height - tpad - bottom
    slot = plot_w / len(months)
    bar_w = max(2.0, slot * 0.72)
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Incidents per month by attack type">']
    for k in range(5):  # grid lines and labels
        v = top * k / 4
        y = tpad + plot_h - plot_h * k / 4
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    every = max(1, round(len(months) / 12))
    for idx, mo in enumerate(months):
        x = left + idx * slot + (slot - bar_w) / 2
        y = tpad + plot_h
        for t in types:
            n = per[mo].get(t, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(f'<rect class="t-{_e(t)}" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                         f'<title>{_e(mo)}: {n} {_e(t)}</title></rect>')
        if idx % every == 0:
            label = month_label(mo)
            parts.append(f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{_e(label)}</text>')
    parts.append("</svg>")
    legend = "".join(f'<li><svg class="swatch" viewBox="0 0 10 10" aria-hidden="true"><rect class="t-{_e(t)}" '
                     f'width="10" height="10"/></svg>{_e(t)}</li>' for t in types)
    return Markup("".join(parts) + f'<ul class="legend">{legend}</ul>' + _note(left_out))


def hbars(rows: list[tuple[str, int, str | None]], *, label: str, width: int = 600, bar_h: int = 26) -> Markup:
    """Horizontal bars: ``(label, count, link or None)`` rows, largest first."""
    if not rows:
        return Markup('<p class="empty">Nothing to show.</p>')
    top = max(n for _, n, _ in rows) or 1
    name_w, num_w = 170, 56
    plot_w = width - name_w - num_w
    height = bar_h * len(rows) + 4
    parts = [f'<svg class="chart hbars" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">']
    for i, (name, n, href) in enumerate(rows):
        y = i * bar_h + 2
        w = max(1.0, plot_w * n / top)
        text = _e(name if len(name) <= 22 else name[:21] + "…")
        row = (f'<text class="name" x="{name_w - 8}" y="{y + bar_h * 0.68:.1f}" text-anchor="end">{text}</text>'
               f'<rect class="bar" x="{name_w}" y="{y + 3}" width="{w:.1f}" height="{bar_h - 6}" rx="2"/>'
               f'<text class="num" x="{name_w + w + 6:.1f}" y="{y + bar_h * 0.68:.1f}">{n}</text>'
               f'<title>{_e(name)}: {n}</title>')
        parts.append(f'<a href="{_e(href)}">{row}</a>' if href else f"<g>{row}</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(points: list[tuple[str, str, str, str]], *, width: int = 860, height: int = 96) -> Markup:
    """Incidents on a time axis: ``(date YYYY[-MM[-DD]], type, label, href)`` points.

    Points on the same month stack upwards so none hides another. Undated
    points and those known only to the year have no place on it: a note under
    the axis counts them (as under the monthly chart).
    """
    dated = [(d, t, lab, href) for d, t, lab, href in points if len(d or "") >= 7]
    left_out = undated_note(sum(1 for p in points if not p[0]), sum(1 for p in points if len(p[0] or "") == 4))
    if not dated:
        return Markup('<p class="empty">No incident dated to the month.</p>' + _note(left_out))

    def day(value: str) -> date:  # a partial date sits in the middle of what it covers
        p = [int(x) for x in value.split("-")[:3]]
        return date(p[0], p[1] if len(p) > 1 else 7, p[2] if len(p) > 2 else (15 if len(p) > 1 else 1))

    days = [day(d) for d, *_ in dated]
    lo, hi = min(days), max(days)
    lo = date(lo.year, 1, 1)
    hi = date(hi.year, 12, 31)
    span = (hi - lo).days or 1
    left, right, axis_y = 20, 20, height - 28
    plot_w = width - left - right
    parts = [f'<svg class="chart timeline" viewBox="0 0 {width} {height}" role="img" aria-label="Incidents over time">',
             f'<line class="axisline" x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}"/>']
    years = hi.year - lo.year + 1
    for year in range(lo.year, hi.year + 2):
        x = left + plot_w * (date(year, 1, 1) - lo).days / span if year <= hi.year else width - right
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 6}"/>')
        if year > hi.year:
            continue
        if years <= 3:  # month labels where they fit
            for month in (1, 4, 7, 10):
                xm = left + plot_w * (date(year, month, 1) - lo).days / span
                parts.append(f'<line class="tick" x1="{xm:.1f}" x2="{xm:.1f}" y1="{axis_y}" y2="{axis_y + 3}"/>')
                label = month_label(f"{year}-{month:02d}")
                parts.append(f'<text class="axis" x="{xm + 3:.1f}" y="{axis_y + 17}">{label}</text>')
        else:
            xm = left + plot_w * (date(year, 7, 1) - lo).days / span
            parts.append(f'<text class="axis" x="{xm:.1f}" y="{axis_y + 17}" text-anchor="middle">{year}</text>')
    stack: dict[tuple[int, int], int] = {}
    for (value, t, lab, href), d in sorted(zip(dated, days), key=lambda p: p[1]):
        x = left + plot_w * (d - lo).days / span
        k = stack[(d.year, d.month)] = stack.get((d.year, d.month), -1) + 1
        y = axis_y - 10 - (k % 8) * 11
        parts.append(f'<a href="{_e(href)}"><circle class="t-{_e(t)}" cx="{x:.1f}" cy="{y:.1f}" r="5">'
                     f'<title>{_e(value)} · {_e(lab)}</title></circle></a>')
    parts.append("</svg>")
    return Markup("".join(parts) + _note(left_out))
