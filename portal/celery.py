"""The Celery app and the beat schedule: Redis in production, a file-system broker when embedded."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("qinqing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Exactly one beat process runs this schedule (the embedded demo starts it inside its single
# worker with -B; production runs one `celery beat` container). A missed tick is harmless:
# the next sweep catches up on everything due.
app.conf.beat_schedule = {
    "deadline-sweep": {
        "task": "requests_app.tasks.run_deadline_sweep",
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
    # From 1 November, the admins are told (once each) while next year's working-day calendar is
    # not loaded; daily at 09:00 in Shanghai (beat runs in UTC). Telling is idempotent.
    "calendar-next-year-warning": {
        "task": "requests_app.tasks.warn_of_unsettled_calendar",
        "schedule": crontab(minute=0, hour=1),
        "options": {"expires": 3600},
    },
    # A gift received unregistered within its deadline becomes the N01 violation once it lapses.
    "compliance-gift-deadlines": {
        "task": "compliance.tasks.judge_gift_deadlines",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
}
