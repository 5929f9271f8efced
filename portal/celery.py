"""The Celery app and the beat schedule: Redis in production, a file-system broker when embedded."""

import os

from celery import Celery

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
}
