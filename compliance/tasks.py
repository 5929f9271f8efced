"""Celery tasks of compliance: thin wrappers that hold no business logic."""

from celery import shared_task

from compliance.history import link_breach_cases


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def link_breach_findings() -> str:
    """Give the sweep's breach cases their N11 finding (set-based; safe to run any time)."""
    return f"{link_breach_cases()} breach cases linked to N11 findings."
