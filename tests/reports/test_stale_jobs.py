"""Export jobs whose worker died: failed after REPORTS_EXPORT_STALL_MINUTES without progress, and
their page tells the requester to ask again instead of saying "running" for an hour."""

import datetime as dt

import time_machine
from django.test import Client
from django.urls import reverse

from portal.celery import app
from reports import exports, stalled
from reports.models import ExportJob, ExportStatus
from reports.tasks import fail_stalled_exports, run_export
from tests.conftest import at

NOW = at("2026-10-12 10:00")


def job(cast, status=ExportStatus.RUNNING, progressed=None, **fields) -> ExportJob:
    return ExportJob.objects.create(
        requested_by=cast.leona,
        params={"year": 2026, "quarter": 3, "figure": "received"},
        format="csv",
        status=status,
        total=9000,
        done=2000,
        created_at=NOW - dt.timedelta(hours=1),
        progressed_at=progressed,
        expires_at=NOW + dt.timedelta(days=3),
        **fields,
    )


@time_machine.travel(NOW, tick=False)
def test_only_running_jobs_silent_for_the_set_time_are_failed(cast, settings):
    settings.REPORTS_EXPORT_STALL_MINUTES = 10
    minutes = dt.timedelta(minutes=1)
    dead = job(cast, progressed=NOW - 11 * minutes)
    never_wrote = job(cast, progressed=None)  # died before its first stamp (an older version)
    alive = job(cast, progressed=NOW - 9 * minutes)
    waiting = job(cast, status=ExportStatus.PENDING)  # the broker has not delivered it yet
    done = job(cast, status=ExportStatus.DONE, progressed=NOW - 50 * minutes)

    assert fail_stalled_exports() == 2
    states = dict(ExportJob.objects.values_list("pk", "status"))
    assert states == {
        dead.pk: ExportStatus.FAILED,
        never_wrote.pk: ExportStatus.FAILED,
        alive.pk: ExportStatus.RUNNING,
        waiting.pk: ExportStatus.PENDING,
        done.pk: ExportStatus.DONE,
    }
    dead.refresh_from_db()
    assert (dead.error, dead.finished_at) == (stalled.STALLED_ERROR, NOW)
    assert fail_stalled_exports() == 0


@time_machine.travel(NOW, tick=False)
def test_the_page_of_a_stalled_job_tells_the_requester_to_ask_again(cast, settings):
    silent = job(cast, progressed=NOW - dt.timedelta(hours=1))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cast.leona)
    page = client.get(reverse("reports:job", args=[silent.pk])).content.decode()
    assert "Running" in page and "ask for the export again" not in page

    stalled.fail_stalled()
    page = client.get(reverse("reports:job", args=[silent.pk])).content.decode()
    assert "Running" not in page
    assert "Failed" in page and "Please ask for the export again." in page
    assert stalled.STALLED_ERROR not in page  # the admin's words, not the requester's
    status = client.get(reverse("reports:job-status", args=[silent.pk])).json()
    assert status["status"] == "failed"

    zh = client.get(reverse("reports:job", args=[silent.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "请重新申请导出" in zh.content.decode()


def test_a_worker_stamps_its_progress_and_a_late_redelivery_leaves_a_failed_job_alone(
    cast, quarter, settings, monkeypatch
):
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
    running = job(cast, status=ExportStatus.PENDING, progressed=None)
    with time_machine.travel(NOW, tick=False):
        run_export(running.pk)
    running.refresh_from_db()
    assert running.status == ExportStatus.DONE and running.progressed_at == NOW

    failed = job(cast, status=ExportStatus.FAILED, error=stalled.STALLED_ERROR)
    run_export(failed.pk)  # the broker hands the dead worker's task over after an hour
    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.file.name) == (
        ExportStatus.FAILED,
        stalled.STALLED_ERROR,
        "",
    )


def test_beat_checks_for_stalled_exports_every_minute():
    entries = [e for e in app.conf.beat_schedule.values() if e["task"].endswith("stalled_exports")]
    assert [(entry["task"], entry["schedule"]) for entry in entries] == [
        ("reports.tasks.fail_stalled_exports", 60.0)
    ]
