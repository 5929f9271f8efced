"""`|minute`, the one way the pages write a moment: what `|date:"Y-m-d H:i"` wrote, faster."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from core.template_filters import minute_text

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 12, 31, 16, 5, 59, tzinfo=dt.UTC),  # New Year's Day in Beijing
        dt.datetime(2027, 1, 1, 0, 0, tzinfo=SHANGHAI),
        dt.datetime(2026, 6, 30, 23, 59, tzinfo=ZoneInfo("America/New_York")),
        dt.datetime(2026, 3, 1, 9, 30),  # naive: shown as it is
        None,
        "",
        "2026-12-07T14:05:00+08:00",  # not a moment: nothing, as `date` gives
    ],
    ids=str,
)
def test_minute_writes_what_the_date_filter_wrote(value):
    with timezone.override(SHANGHAI):
        django = Template('{{ value|date:"Y-m-d H:i" }}').render(Context({"value": value}))
        ours = Template("{{ value|minute }}").render(Context({"value": value}))
    assert ours == django


def test_minute_is_in_china_standard_time():
    with timezone.override(SHANGHAI):
        assert minute_text(dt.datetime(2026, 12, 31, 16, 5, tzinfo=dt.UTC)) == "2027-01-01 00:05"


def test_minute_writes_nothing_for_a_day_without_a_time():
    assert minute_text(dt.date(2026, 2, 17)) == ""
