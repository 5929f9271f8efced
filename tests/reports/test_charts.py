"""Server-drawn SVG charts: labels escaped, bars scaled and linked to their requests."""

import re

from reports.charts import Bar, Column, grouped_columns, horizontal_bars


def test_bars_are_scaled_escaped_and_linked():
    svg = horizontal_bars(
        [
            Bar("Roads <b>", 1.0, "100%", "/reports/requests/?figure=closed&department=1"),
            Bar("Land", 0.5, "50%", ""),
            Bar("Environment", None, "—", ""),
        ],
        title="On time",
        maximum=1,
    )
    assert "<b>" not in svg and "Roads &lt;b&gt;" in svg
    widths = [int(w) for w in re.findall(r'class="bar"[^>]* width="(\d+)"', svg)]
    assert widths == [360, 180, 0]
    assert '<a href="/reports/requests/?figure=closed&amp;department=1">' in svg
    assert svg.count("<a ") == 1


def test_columns_show_each_series_with_a_legend():
    svg = grouped_columns(
        [Column("2026-07", (3, 3), ("/a", "/b")), Column("2026-08", (2, 0))],
        series=["Received", "Closed"],
        title="Trend",
    )
    assert svg.count('class="bar series-0"') == 3  # two months and the legend
    assert svg.count('class="bar series-1"') == 3
    assert "Received" in svg and "2026-08" in svg
    assert svg.count("<a ") == 2


def test_nothing_to_draw_is_empty():
    assert horizontal_bars([], title="x") == ""
    assert grouped_columns([], series=["a"], title="x") == ""


def test_a_chart_of_links_is_a_group_and_a_plain_chart_an_image():
    # An image hides its insides from screen readers, links too (axe: nested-interactive).
    linked = horizontal_bars([Bar("Roads", 1.0, "100%", "/reports/requests/")], title="On time")
    plain = horizontal_bars([Bar("Roads", 1.0, "100%", "")], title="On time")
    assert linked.startswith('<svg class="chart" role="group" aria-label="On time"')
    assert plain.startswith('<svg class="chart" role="img" aria-label="On time"')
    columns = [Column("2026-07", (3, 1))]
    assert 'role="img"' in grouped_columns(columns, series=["a", "b"], title="Trend")
    columns = [Column("2026-07", (3, 1), ("/a", ""))]
    assert 'role="group"' in grouped_columns(columns, series=["a", "b"], title="Trend")
