"""The Celery app and the beat schedule: Redis in production, a file-system broker when embedded."""

import logging.config
import os
import sys

from celery import Celery, signals
from celery.schedules import crontab

from portal.logging import JsonFormatter

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("qinqing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def log_like_the_web_process(loglevel=None, **_kwargs) -> None:
    """Worker and beat log through Django's LOGGING (one JSON object a line in production).

    Any receiver of this signal stops Celery from installing its own plain-text handlers on the
    root and task loggers, and from redirecting stdout into them; `--loglevel` still applies.
    The start-up banner is not a log line: production runs worker and beat with `--quiet`.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    logging.captureWarnings(True)  # Python's warnings as log lines too, not raw text
    if loglevel:
        logging.getLogger().setLevel(loglevel)
    if settings.LOG_FORMAT == "json":
        # The worker's signal handlers ("worker: Warm shutdown") bypass logging on purpose (no
        # lock may be taken in a signal handler) and print plain text; print it as JSON.
        from celery.apps import worker

        worker.safe_say = _say_as_json


def _say_as_json(message: str, stream=sys.__stderr__) -> None:
    record = logging.LogRecord("celery.apps.worker", logging.WARNING, "", 0, message, (), None)
    # print() like Celery's own safe_say: a single write, no logging lock.
    print(JsonFormatter().format(record), file=stream, flush=True)


# Exactly one beat process runs this schedule (the embedded demo starts it inside its single
# worker with -B; production runs one `celery beat` container). A missed tick is harmless:
# the next sweep catches up on everything due.
app.conf.beat_schedule = {
    "deadline-sweep": {
        "task": "requests_app.tasks.run_deadline_sweep",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "reports-fail-stalled-exports": {
        "task": "reports.tasks.fail_stalled_exports",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "reports-purge-exports": {
        "task": "reports.tasks.purge_expired_exports",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    # Flags are awarded for the quarter just ended on the first morning of the next (08:30 in
    # Shanghai; beat runs in UTC). Awarding is idempotent, so a second run changes nothing.
    "reports-award-flags": {
        "task": "reports.tasks.award_last_quarter_flags",
        "schedule": crontab(minute=30, hour=0, day_of_month=1, month_of_year="1,4,7,10"),
    },
    # The whole portal's dashboard figures: the current quarter computed again a little before
    # its cached copy expires (REPORTS_FIGURES_SECONDS, 300 by default), so no reader waits for
    # it; the last finished quarter's snapshots recomputed nightly at 04:00 in Shanghai, so late
    # ratings and reopens settle into them (reports/snapshots.py).
    "reports-keep-current-quarter": {
        "task": "reports.tasks.keep_current_quarter",
        "schedule": 240.0,
        "options": {"expires": 230},
    },
    # The same for every department's and jurisdiction's dashboard read in the last
    # REPORTS_KEEP_READ_DAYS, and every inspection jurisdiction: its handlers and inspectors
    # find it kept too.
    "reports-keep-read-quarters": {
        "task": "reports.tasks.keep_read_quarters",
        "schedule": 240.0,
        "options": {"expires": 230},
    },
    "reports-recompute-last-quarter": {
        "task": "reports.tasks.recompute_last_quarter",
        "schedule": crontab(minute=0, hour=20),
        "options": {"expires": 3600},
    },
    # From 1 November, the admins are told (once each) while next year's working-day calendar is
    # not loaded; daily at 09:00 in Shanghai (beat runs in UTC). Telling is idempotent.
    "calendar-next-year-warning": {
        "task": "requests_app.tasks.warn_of_unsettled_calendar",
        "schedule": crontab(minute=0, hour=1),
        "options": {"expires": 3600},
    },
    # Every case history is checked against the last signed checkpoint at 02:00 in Shanghai,
    # then the heads are signed into the next one at 03:00 (requests_app/checkpoints.py).
    "timeline-verify": {
        "task": "requests_app.tasks.verify_timelines",
        "schedule": crontab(minute=0, hour=18),
        "options": {"expires": 3600},
    },
    "timeline-checkpoint": {
        "task": "requests_app.tasks.sign_timeline_checkpoint",
        "schedule": crontab(minute=0, hour=19),
        "options": {"expires": 3600},
    },
    # Each user's daily digest of the day just ended, at 00:10 in Shanghai (beat runs in UTC).
    # A (user, day) row makes each go out once, however often or late this runs.
    "notifications-daily-digest": {
        "task": "notifications.tasks.send_daily_digests",
        "schedule": crontab(minute=10, hour=16),
        "options": {"expires": 3600},
    },
    # A gift received unregistered within its deadline becomes the N01 violation once it lapses.
    "compliance-gift-deadlines": {
        "task": "compliance.tasks.judge_gift_deadlines",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
}
