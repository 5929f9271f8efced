"""Celery tasks of compliance: thin wrappers that hold no business logic."""

from celery import shared_task
from django.utils import timezone

from compliance.services import judge_lapsed_gifts


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def judge_gift_deadlines() -> str:
    """Turn gifts whose registration or surrender deadline passed unmet into their N01
    violation (set-based; a second run stores nothing)."""
    return f"{judge_lapsed_gifts(now=timezone.now())} gift deadline findings stored."
