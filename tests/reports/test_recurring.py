"""Recurring problems: categories growing quarter on quarter, and phrases that keep coming back
(Chinese cut into words by jieba, English by words), each with example requests."""

import pytest

from reports.figures import Period
from reports.recurring import growing_categories, recurring_problems, tokens
from reports.selectors import report_scope


@pytest.mark.parametrize(
    ("text", "expected", "absent"),
    [
        ("厂区门口道路破损", {"道路", "破损"}, {"门口道路破损"}),
        ("Streetlights broken near the plant", {"streetlights", "broken", "plant"}, {"the"}),
        ("污水管道堵塞 sewage blocked", {"污水", "管道", "堵塞", "sewage", "blocked"}, set()),
        ("企业希望尽快解决问题", set(), {"企业", "希望", "问题"}),  # only stopwords
    ],
)
def test_tokens(text, expected, absent):
    found = tokens(text)
    assert expected <= found
    assert not (absent & found)


def test_recurring_phrases_and_growing_categories(cast, quarter):
    items = recurring_problems(report_scope(cast.ada).requests, Period(2026, 3))
    categories = [item for item in items if item["kind"] == "category"]
    phrases = {item["phrase"]: item for item in items if item["kind"] == "phrase"}
    # Infrastructure: 2 this quarter (R1, R2) against 1 before (R0).
    assert [(c["category"], c["count"], c["previous"]) for c in categories] == [
        ("infrastructure", 2, 1)
    ]
    assert {e["id"] for e in categories[0]["examples"]} == {quarter.r1.pk, quarter.r2.pk}
    # "道路" is in R1 and R2 (and in R0 of the quarter before); "破损" in every description
    # but R2's, and in R2's title: six requests, counted once each, three shown.
    assert (phrases["道路"]["count"], phrases["道路"]["previous"]) == (2, 1)
    assert {e["id"] for e in phrases["道路"]["examples"]} == {quarter.r1.pk, quarter.r2.pk}
    assert phrases["破损"]["count"] == 6
    assert len(phrases["破损"]["examples"]) == 3
    assert "streetlights" not in phrases  # said once only
    assert all(item["count"] >= 2 for item in phrases.values())


def test_scoping_applies_to_recurring_problems(cast, quarter):
    assert growing_categories(report_scope(cast.irene).requests, Period(2026, 3)) == []


def test_the_quarters_figures_carry_the_phrases_mined_beside_the_statement(cast, quarter):
    """quarter_figures mines the phrases in a thread while the database counts: the same
    recurring problems as mined in turn."""
    from django.utils import timezone

    from reports.selectors import quarter_figures

    scope = report_scope(cast.ada)
    period = Period(2026, 3)
    figures = quarter_figures(scope, period, now=timezone.now())
    assert figures["recurring"] == recurring_problems(scope.requests, period)
    assert any(item["kind"] == "phrase" for item in figures["recurring"])
