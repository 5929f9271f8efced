"""Report tasks: thin wrappers that take ids (run in-process here)."""

import datetime as dt

import time_machine

from reports import tasks
from reports.models import ExportJob, FlagAward
from tests.conftest import at


def test_award_last_quarter_flags_awards_the_quarter_just_ended(bureaus):
    with time_machine.travel(at("2026-10-01 01:00"), tick=False):
        assert tasks.award_last_quarter_flags() == 4
    assert set(FlagAward.objects.values_list("year", "quarter")) == {(2026, 3)}


def test_purge_expired_exports(cast):
    keep = ExportJob.objects.create(
        requested_by=cast.ada, format="csv", expires_at=at("2026-10-02 00:00")
    )
    ExportJob.objects.create(requested_by=cast.ada, format="csv", expires_at=at("2026-09-30 00:00"))
    with time_machine.travel(at("2026-10-01 00:00") + dt.timedelta(minutes=1), tick=False):
        assert tasks.purge_expired_exports() == 1
    assert list(ExportJob.objects.all()) == [keep]
