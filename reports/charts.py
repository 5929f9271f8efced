"""Charts drawn on the server as inline SVG: no script, no CDN, printable, in either language.

Colours and fonts come from static/reports/reports.css through class names (the portal's
content security policy allows no inline styles); the same colours are also presentation
attributes, which the page's CSS overrides and which a printed report (WeasyPrint, whose SVG
ignores the document's stylesheet) uses as they are. On the dashboard every bar is a link to the
requests it counts.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

ROW_HEIGHT = 26
LABEL_WIDTH = 190
BAR_WIDTH = 360
VALUE_WIDTH = 70
# Presentation attributes: the colours of static/reports/reports.css, for renderers without it.
SERIES_FILLS = ("#1d5fa8", "#1e7a3c")
LABEL_FILL = "#1f2933"
VALUE_FILL = "#5f6b7a"


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str  # the value as shown (e.g. "87%")
    href: str = ""


def _link(href: str, inner: SafeString) -> SafeString:
    return format_html('<a href="{}">{}</a>', href, inner) if href else inner


def _role(linked: bool) -> str:
    """A chart is one picture ("img") unless its bars are links: an image's insides are hidden
    from screen readers, links included, so a linked chart is a "group" of named links (each
    named by its <title>)."""
    return "group" if linked else "img"


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
            '<title>{}: {}</title><rect class="bar" fill="{}" x="{}" y="{}" width="{}" height="{}">'
            '</rect><text class="label" fill="{}" x="{}" y="{}" text-anchor="end">{}</text>'
            '<text class="value" fill="{}" x="{}" y="{}">{}</text>',
            bar.label,
            bar.text,
            SERIES_FILLS[0],
            LABEL_WIDTH,
            y + 3,
            length,
            ROW_HEIGHT - 8,
            LABEL_FILL,
            LABEL_WIDTH - 8,
            y + ROW_HEIGHT / 2 + 4,
            _shorten(bar.label, 16),
            VALUE_FILL,
            LABEL_WIDTH + length + 6,
            y + ROW_HEIGHT / 2 + 4,
            bar.text,
        )
        rows.append(_link(bar.href, shape))
    return format_html(
        '<svg class="chart" role="{}" aria-label="{}" viewBox="0 0 {} {}" width="100%">{}</svg>',
        _role(any(bar.href for bar in bars)),
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
                '<rect class="bar series-{}" fill="{}" x="{}" y="{}" width="{}" height="{}"></rect>'
                '<text class="value" fill="{}" x="{}" y="{}" text-anchor="middle">{}</text>',
                column.label,
                series[position],
                value,
                position,
                SERIES_FILLS[position % len(SERIES_FILLS)],
                x,
                y,
                bar_width,
                bar_height,
                VALUE_FILL,
                x + bar_width / 2,
                y - 4,
                value,
            )
            href = column.hrefs[position] if position < len(column.hrefs) else ""
            parts.append(_link(href, shape))
        parts.append(
            format_html(
                '<text class="label" fill="{}" x="{}" y="{}" text-anchor="middle">{}</text>',
                LABEL_FILL,
                x0 + bar_width,
                24 + plot_height + 18,
                column.label,
            )
        )
    legend = format_html_join(
        "",
        '<rect class="bar series-{}" fill="{}" x="{}" y="4" width="12" height="12"></rect>'
        '<text class="label" fill="{}" x="{}" y="14">{}</text>',
        (
            (
                i,
                SERIES_FILLS[i % len(SERIES_FILLS)],
                left + i * 110,
                LABEL_FILL,
                left + i * 110 + 16,
                name,
            )
            for i, name in enumerate(series)
        ),
    )
    return format_html(
        '<svg class="chart" role="{}" aria-label="{}" viewBox="0 0 {} {}" width="100%">{}{}</svg>',
        _role(any(any(column.hrefs) for column in columns)),
        title,
        max(width, 240),
        height,
        legend,
        mark_safe("".join(parts)),  # noqa: S308 - each part was built with format_html
    )


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def percent(value) -> str:
    """A rate as the dashboard shows it: one decimal and a percent sign; "—" when unmeasured."""
    return "—" if value is None else f"{value * 100:.1f}%"


# (figure, period, department id, category code) → the URL of the requests it counts, or "".
Linker = Callable[..., str]


def _no_link(*args, **kwargs) -> str:
    return ""


def report_charts(
    report: dict, *, category_names: dict[str, str], link: Linker = _no_link, department=None
) -> dict:
    """The dashboard's three charts of a report (reports.snapshots.dashboard_report): requests by
    month, answered on time by department, requests by category.

    `link` makes each bar a link (the dashboard's); a printed report passes none.
    `category_names` names the categories in the reader's language.
    """
    months = [
        Column(
            label=row["month"],
            values=(row["received"], row["closed"]),
            hrefs=(
                link("received", row["period"], department=department),
                link("closed", row["period"], department=department),
            ),
        )
        for row in report.get("trend", [])
    ]
    on_time = [
        Bar(
            label=row["department"]["name"],
            value=row["answer_on_time_rate"],
            text=percent(row["answer_on_time_rate"]),
            href=link("answer_on_time", None, department=row["department"]["id"]),
        )
        for row in report["by_department"]
    ]
    volume = [
        Bar(
            label=category_names.get(row["category"], row["category"]),
            value=row["received"],
            text=str(row["received"]),
            href=link("received", None, department=department, category=row["category"]),
        )
        for row in report["by_category"]
    ]
    return {
        "trend": grouped_columns(
            months, series=[_("Received"), _("Closed")], title=_("Requests by month")
        ),
        "on_time": horizontal_bars(on_time, title=_("Answered on time, by department"), maximum=1),
        "volume": horizontal_bars(volume, title=_("Requests by category")),
    }
