"""Widgets as text: the only module that imports plotext. A widget's figures in, lines of text out.

>>> print(render({"title": "Sales per month", "kind": "bar", "format": "money",
...               "rows": [{"key": "2017-03", "value": "1054.5"}, {"key": "2017-04", "value": "0"}]}))

The input is what ``crm_tui.domain.dashboards.compute_widget`` returns (JSON-ready: values are exact
decimal strings or ints). Stat cards and pies are drawn here without plotext — a pie is a proportional
bar with a legend and percentages, readable in any terminal and in cron mail; bars go through plotext,
imported only when a bar is drawn. ``color=True`` keeps plotext's ANSI colours (for a terminal that
understands them); the default is plain text.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

PIE_MARKS = "█▓▒░#=+*o."
NO_ACCESS = "no access"


def format_value(value, fmt: str = "number") -> str:
    """An exact figure for people: money with 2 decimals and thousands separators, counts as ints,
    percentages with one decimal and ``%``; ``-`` for no figure."""
    if value is None:
        return "-"
    number = Decimal(str(value))
    if fmt == "money":
        return f"{number.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"
    if fmt == "percent":
        return f"{number.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN)}%"
    if fmt == "count" or number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.normalize():,f}"


def format_value_fit(value, fmt: str, width: int) -> str:
    """:func:`format_value`, or ``32.3M`` when that does not fit ``width`` cells (a narrow stat card)."""
    text = format_value(value, fmt)
    if len(text) <= width or value is None or fmt == "percent":
        return text
    return _short_number(Decimal(str(value)))


def format_change(widget: dict) -> str:
    """``+12.5% vs previous month`` / ``-3.0 pts vs previous 3 months`` / empty."""
    if "compared_with" not in widget:
        return ""
    change = widget.get("change")
    if change is None:
        return f"(no {widget['compared_with']} to compare)"
    number = Decimal(str(change))
    unit = " pts" if widget.get("change_unit") == "points" else "%"
    sign = "+" if number > 0 else ""
    return f"{sign}{number}{unit} vs {widget['compared_with']}"


def _label(key) -> str:
    return "(none)" if key is None else str(key)


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def stat_text(widget: dict) -> str:
    if widget.get("error"):
        return f"{widget['title']}: {widget['error']}"
    if widget.get("no_access"):
        return f"{widget['title']}: {NO_ACCESS}"
    text = f"{widget['title']}: {format_value(widget.get('value'), widget.get('format', 'number'))}"
    change = format_change(widget)
    return f"{text}  {change}" if change else text


def pie_text(widget: dict, *, width: int = 78, show_title: bool = True) -> str:
    """A proportional bar (one mark per slice) with a legend: name, figure, share of the slices."""
    text = _pie_text(widget, width=width)
    return text if show_title else text.split("\n", 1)[-1] if "\n" in text else ""


def _pie_text(widget: dict, *, width: int) -> str:
    title = widget.get("title", "")
    if widget.get("error"):
        return f"{title}\n  {widget['error']}"
    if widget.get("no_access"):
        return f"{title}\n  {NO_ACCESS}"
    fmt = widget.get("format", "number")
    rows = [(r["key"], Decimal(str(r["value"] or 0))) for r in widget.get("rows", [])]
    rows = [(k, v) for k, v in rows if v > 0]
    lines = [title]
    whole = sum((v for _, v in rows), Decimal(0))
    if not rows or whole <= 0:
        return "\n".join(lines + ["  (nothing to show)"])
    rows.sort(key=lambda kv: (-kv[1], _label(kv[0])))
    bar_width = max(10, width - 4)
    # largest-remainder rounding: the bar is exactly bar_width cells, every slice shown at ≥ 0 cells
    exact = [v * bar_width / whole for _, v in rows]
    cells = [int(x) for x in exact]
    for i in sorted(range(len(rows)), key=lambda i: exact[i] - cells[i], reverse=True)[:bar_width - sum(cells)]:
        cells[i] += 1
    marks = [PIE_MARKS[i % len(PIE_MARKS)] for i in range(len(rows))]
    lines.append("  " + "".join(m * c for m, c in zip(marks, cells)))
    names = [_label(k) for k, _ in rows]
    values = [format_value(v, fmt) for _, v in rows]
    name_w = max(_width(n) for n in names)
    value_w = max(len(v) for v in values)
    for mark, name, value, (_, v) in zip(marks, names, values, rows):
        share = (v * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
        lines.append(f"  {mark} {_pad(name, name_w)}  {value:>{value_w}}  {share:>5}%")
    if widget.get("overlapping"):
        lines.append("  (slices overlap: a record with several tags counts in each; total "
                     f"{format_value(widget.get('total'), fmt)})")
    return "\n".join(lines)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _is_month(key: str) -> bool:
    return len(key) == 7 and key[4] == "-" and key[:4].isdigit() and key[5:].isdigit()


def _axis_labels(keys: list[str]) -> tuple[list[str], str]:
    """Labels under the bars, and a span for the title: month keys 2017-03 → ``Mar`` (the years go in
    the title, so twelve months fit under a 78-column chart)."""
    if keys and all(_is_month(k) for k in keys):
        first, last = keys[0], keys[-1]
        span = f"{_MONTHS[int(first[5:]) - 1]} {first[:4]} – {_MONTHS[int(last[5:]) - 1]} {last[:4]}"
        return [_MONTHS[int(k[5:]) - 1] for k in keys], span
    return keys, ""


def _short_number(value: Decimal) -> str:
    """Axis labels: 1.5M, 300k, 42."""
    size = abs(value)
    for limit, suffix in ((Decimal(10) ** 9, "G"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if size >= limit:
            scaled = (value / limit).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN).normalize()
            return f"{scaled:f}{suffix}"
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_EVEN).normalize():f}"


def _nice_ticks(top: Decimal, count: int = 4) -> list[Decimal]:
    """0 and round steps (1, 2, 2.5, 5 × 10^k) up to ``top``."""
    if top <= 0:
        return [Decimal(0)]
    raw = top / count
    power = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal("0.1")
    step = next(m * power for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
                if m * power >= raw)
    ticks, tick = [], Decimal(0)
    while tick <= top:
        ticks.append(tick)
        tick += step
    return ticks


def bar_text(widget: dict, *, width: int = 78, height: int = 14, color: bool = False,
             show_title: bool = True) -> str:
    """A vertical bar chart drawn by plotext (labels under the bars, the figure axis on the left)."""
    title = widget.get("title", "")
    head = f"{title}\n" if show_title else ""
    if widget.get("error"):
        return f"{head}  {widget['error']}"
    if widget.get("no_access"):
        return f"{head}  {NO_ACCESS}"
    rows = widget.get("rows", [])
    if not rows:
        return f"{head}  (nothing to show)"
    if not show_title:
        title = ""
    import plotext as plt  # only here: everything else in crm-tui stays plotext-free

    labels, span = _axis_labels([_label(r["key"]) for r in rows])
    exact = [Decimal(str(r["value"] or 0)) for r in rows]
    positions = list(range(1, len(rows) + 1))
    ticks = _nice_ticks(max(exact + [Decimal(0)]))
    figure = plt.figure
    figure.clear()
    figure.plot_size(width, height)
    if not color:
        figure.theme("colorless")
    # plotext draws with floats; the exact figures stay in the widget, this is only the picture
    figure.draw(figure.bar(positions, [float(v) for v in exact], width=0.6))
    figure.ruler("x").ticks(positions, labels)
    figure.ruler("y").ticks([float(t) for t in ticks], [_short_number(t) for t in ticks])
    total = widget.get("total")
    heading = " · ".join(part for part in (title, span) if part)
    figure.title(heading)
    text = figure.build().string(colorless=not color)
    figure.clear()
    lines = [line.rstrip() for line in text.splitlines()]
    if total is not None:
        lines.append(f"total {format_value(total, widget.get('format', 'number'))}")
    return "\n".join(lines)


def render(widget: dict, *, width: int = 78, height: int = 14, color: bool = False,
           show_title: bool = True) -> str:
    """Any widget as text, by its ``kind``; ``show_title=False`` when the caller shows the title
    itself (a TUI tile's border)."""
    kind = widget.get("kind")
    if kind == "stat":
        text = stat_text(widget)
        prefix = f"{widget.get('title')}: "
        return text if show_title or not text.startswith(prefix) else text[len(prefix):]
    if kind == "pie":
        return pie_text(widget, width=width, show_title=show_title)
    return bar_text(widget, width=width, height=height, color=color, show_title=show_title)
