"""The Celery app and the beat schedule: Redis in production, a file-system broker when embedded."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("qinqing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
