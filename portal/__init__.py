"""Wiring: settings, URLs, the Celery app, and what every app shares (notifications)."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
