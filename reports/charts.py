"""Charts drawn on the server as inline SVG: no script, no CDN, printable, in either language.

Colours and fonts come from static/reports/reports.css through class names (the portal's
content security policy allows no inline styles). Every bar is a link to the requests it counts.
"""

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

ROW_HEIGHT = 26
LABEL_WIDTH = 190
BAR_WIDTH = 360
VALUE_WIDTH = 70


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str  # the value as shown (e.g. "87%")
    href: str = ""


def _link(href: str, inner: SafeString) -> SafeString:
    return format_html('<a href="{}">{}</a>', href, inner) if href else inner


def horizontal_bars(bars: list[Bar], *, title: str, maximum: float | None = None) -> SafeString:
    """One labelled bar per row; `maximum` fixes the scale (1 for rates)."""
    if not bars:
        return mark_safe("")  # noqa: S308 - a constant empty string
    top = maximum or max((bar.value or 0) for bar in bars) or 1
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    height = ROW_HEIGHT * len(bars) + 4
    rows = []
    for index, bar in enumerate(bars):
        y = index * ROW_HEIGHT + 2
        length = 0 if bar.value is None else max(1, round(BAR_WIDTH * bar.value / top))
        shape = format_html(
            '<title>{}: {}</title><rect class="bar" x="{}" y="{}" width="{}" height="{}"></rect>'
            '<text class="label" x="{}" y="{}" text-anchor="end">{}</text>'
            '<text class="value" x="{}" y="{}">{}</text>',
            bar.label,
            bar.text,
            LABEL_WIDTH,
            y + 3,
            length,
            ROW_HEIGHT - 8,
            LABEL_WIDTH - 8,
            y + ROW_HEIGHT / 2 + 4,
            _shorten(bar.label, 16),
            LABEL_WIDTH + length + 6,
            y + ROW_HEIGHT / 2 + 4,
            bar.text,
        )
        rows.append(_link(bar.href, shape))
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%">{}</svg>',
        title,
        width,
        height,
        mark_safe("".join(rows)),  # noqa: S308 - each row was built with format_html
    )


@dataclass(frozen=True)
class Column:
    label: str
    values: tuple[int, ...]  # one per series
    hrefs: tuple[str, ...] = ()


def grouped_columns(columns: list[Column], *, series: list[str], title: str) -> SafeString:
    """Vertical bars grouped by month (e.g. received and closed), with a legend."""
    if not columns:
        return mark_safe("")  # noqa: S308 - a constant empty string
    plot_height, group_width, bar_width, left, bottom = 160, 90, 28, 10, 40
    top = max(max(column.values) for column in columns) or 1
    width = left + group_width * len(columns)
    height = plot_height + bottom + 24
    parts = []
    for index, column in enumerate(columns):
        x0 = left + index * group_width + 10
        for position, value in enumerate(column.values):
            bar_height = round(plot_height * value / top)
            x = x0 + position * (bar_width + 4)
            y = 24 + plot_height - bar_height
            shape = format_html(
                "<title>{} · {}: {}</title>"
                '<rect class="bar series-{}" x="{}" y="{}" width="{}" height="{}"></rect>'
                '<text class="value" x="{}" y="{}" text-anchor="middle">{}</text>',
                column.label,
                series[position],
                value,
                position,
                x,
                y,
                bar_width,
                bar_height,
                x + bar_width / 2,
                y - 4,
                value,
            )
            href = column.hrefs[position] if position < len(column.hrefs) else ""
            parts.append(_link(href, shape))
        parts.append(
            format_html(
                '<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>',
                x0 + bar_width,
                24 + plot_height + 18,
                column.label,
            )
        )
    legend = format_html_join(
        "",
        '<rect class="bar series-{}" x="{}" y="4" width="12" height="12"></rect>'
        '<text class="label" x="{}" y="14">{}</text>',
        ((i, left + i * 110, left + i * 110 + 16, name) for i, name in enumerate(series)),
    )
    return format_html(
        '<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" width="100%">{}{}</svg>',
        title,
        max(width, 240),
        height,
        legend,
        mark_safe("".join(parts)),  # noqa: S308 - each part was built with format_html
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
