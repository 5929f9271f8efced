"""`core.serializers.MomentField` writes a moment as DRF's DateTimeField writes it, asking for
the time zone once per response: the same text for every kind of moment, and the zone current
when each response is written."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework import serializers

from core.serializers import MomentField

MOMENTS = [
    None,
    "",
    dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC),  # the year's end in Beijing
    dt.datetime(2026, 6, 1, 8, 30, 15, 123456, tzinfo=dt.UTC),
    dt.datetime(2027, 1, 1, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
    dt.datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Berlin")),  # the clocks moved
    dt.datetime(2026, 12, 7, 12, 0),  # naive: DRF's own handling
    "2026-12-07T12:00:00Z",  # a string: as it is
]


class Drf(serializers.Serializer):
    at = serializers.DateTimeField()


class Ours(serializers.Serializer):
    at = MomentField()


@pytest.mark.parametrize("zone", [None, "UTC", "America/New_York"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_a_moment_is_written_as_drf_writes_it(moment, zone):
    with timezone.override(zone) if zone else timezone.override(timezone.get_default_timezone()):
        expected = Drf().fields["at"].to_representation(moment)
        assert Ours().fields["at"].to_representation(moment) == expected


def test_each_response_writes_in_the_zone_current_while_it_is_written():
    moment = dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)
    rows = [{"at": moment}] * 3
    assert {row["at"] for row in Ours(rows, many=True).data} == {"2027-01-01T00:00:00+08:00"}
    with timezone.override("UTC"):
        assert {row["at"] for row in Ours(rows, many=True).data} == {"2026-12-31T16:00:00Z"}
    assert Ours({"at": moment}).data["at"] == "2027-01-01T00:00:00+08:00"


def test_a_field_with_its_own_zone_or_format_keeps_it():
    moment = dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)
    tokyo = MomentField(default_timezone=ZoneInfo("Asia/Tokyo"))
    assert tokyo.to_representation(moment) == "2027-01-01T01:00:00+09:00"
    assert MomentField(format="%Y-%m-%d").to_representation(moment) == "2027-01-01"
