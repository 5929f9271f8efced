"""The sweep's raw SQL: whole statements with named parameters, and one place that asks which
database this is."""

import datetime as dt
import pathlib
import re

import pytest

from requests_app.sweep import postgres
from requests_app.timeline import slot

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Every statement of the module: its module-level SQL texts, by name.
STATEMENTS = {
    name: value
    for name, value in vars(postgres).items()
    if name.isupper() and isinstance(value, str) and re.search(r"\b(SELECT|SET|VACUUM)\b", value)
}
# A percent sign that is not a named parameter, "%(name)s", nor an escaped "%%".
UNNAMED = re.compile(r"%(?!\(\w+\)s|%)")
NAMED = re.compile(r"%\((\w+)\)s")


def test_the_module_holds_the_sweeps_statements():
    assert set(STATEMENTS) == {
        "NO_JIT",
        "LOCK_BATCH",
        "FIRE_BATCH",
        "NOTIFY_BATCH",
        "VACUUM_DEADLINES",
    }


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_every_statement_takes_its_parameters_by_name(name):
    """No bare `%s` (nor `%d`, ...): a value's place in the text is its name, not its order."""
    assert UNNAMED.findall(STATEMENTS[name]) == []


NOW = dt.datetime(2026, 10, 20, 1, tzinfo=dt.UTC)
PENDING = postgres.Pending(clock="answer", position=1, due_by=NOW, skip_paused=True)
START = (0, NOW, 1)
# A firing event's data, its request's own values left to the database.
DATA = {"rule": 4, "cycle": slot("cycle"), "due_at": slot("due_at")}


def _given(query: tuple[str, dict]) -> tuple[set, set]:
    text, params = query
    return set(NAMED.findall(text)), set(params)


@pytest.mark.parametrize("end", [None, (1, NOW, 9)])
def test_the_lock_is_given_exactly_the_parameters_it_names(end):
    named, given = _given(postgres.lock_query(pending=PENDING, start=START, end=end))
    assert named == given


def test_the_firing_is_given_exactly_the_parameters_it_names():
    named, given = _given(
        postgres.fire_query(
            pending=PENDING,
            locked=[1, 2],
            due_column="answer_due_at",
            cycle_column="reopen_count",
            rule_id=4,
            action="accountability_opened",
            note="100% overdue",
            data=DATA,
            now=NOW,
        )
    )
    assert named == given


def test_only_the_clocks_due_columns_are_filled_into_a_statement():
    with pytest.raises(ValueError):
        postgres.fire_query(
            pending=PENDING,
            locked=[1],
            due_column="title",
            cycle_column=None,
            rule_id=4,
            action="reminder",
            note="",
            data=DATA,
            now=NOW,
        )


def test_the_rungs_stages_are_written_out():
    """`stage IN (0)` reads as `stage = 0`, a bound of the index scan (see `postgres._text`)."""
    text, _ = postgres.lock_query(pending=PENDING, start=START, end=None)
    assert "d.stage IN (0, 1)" in text


# Where the code asks which database it runs on, and why; nowhere else (tests and migrations
# aside, which skip or adapt themselves).
VENDOR_CHECKS = {
    # The sweep's one dispatch point: PostgreSQL's statements or the portable path.
    "requests_app/escalation.py": 1,
    # The bulk writer: COPY and the sequence on PostgreSQL, executemany elsewhere.
    "core/bulk.py": 1,
    # The reports' figures: working-time spans and percentiles computed in PostgreSQL.
    "reports/spans.py": 1,
    "reports/figures.py": 1,
    # Indexes built and dropped concurrently on PostgreSQL, the ordinary way elsewhere.
    "core/migration_operations.py": 2,
    # The benchmarks run on PostgreSQL only and say so.
    "benchmarks/sweep_benchmark.py": 1,
    "benchmarks/report_benchmark.py": 1,
    "benchmarks/filling.py": 1,
    "benchmarks/search_benchmark.py": 1,
}


def test_connection_vendor_is_asked_only_in_the_allowed_places():
    found = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/", "node_modules/")) or "/migrations/" in relative:
            continue
        count = len(re.findall(r"connection\.vendor\b", path.read_text(encoding="utf-8")))
        if count:
            found[relative] = count
    assert found == VENDOR_CHECKS


def test_held_due_times_are_one_array_of_ranges_open_below_closed_above():
    """The ranges of due times that wait for a year's calendar (`requests_app.sweep.waiting`):
    (after, until], as the ORM's `due_at > after AND due_at <= until`, in UTC."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    held = ((dt.datetime(2027, 1, 1, tzinfo=shanghai), dt.datetime(2028, 1, 4, tzinfo=shanghai)),)
    assert postgres.range_array(held) == '{"(2026-12-31T16:00:00+00:00,2028-01-03T16:00:00+00:00]"}'
    assert postgres.range_array(()) == "{}"
    with pytest.raises(ValueError):
        postgres.range_array(((dt.datetime(2027, 1, 1), dt.datetime(2028, 1, 1)),))
    _, params = postgres.lock_query(pending=PENDING, start=START, end=None)
    assert params["held"] == "{}"
