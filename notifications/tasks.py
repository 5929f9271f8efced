"""Celery tasks of the messages: they take ids and hold no business logic."""

from celery import shared_task
from django.utils import timezone

from notifications import outbox
from notifications.email import EMAIL_MAX_ATTEMPTS, send_email
from notifications.models import Notification


@shared_task(bind=True, max_retries=EMAIL_MAX_ATTEMPTS, default_retry_delay=60)
def send_notification_emails(self, notification_ids: list[int]) -> int:
    """Send the e-mails of these inbox rows; retry the ones the mail server refused.

    Each row is claimed just before it is sent (notifications/outbox.py), so a row that another
    task is sending, or has sent since this task was queued, is left alone.
    """
    failed = []
    sent = 0
    for pk in notification_ids:
        if not outbox.claim_for_sending(pk, timezone.now()):
            continue
        notification = Notification.objects.select_related("recipient").filter(pk=pk).first()
        if notification is None:  # the recipient was deleted since
            continue
        try:
            send_email(notification)
        except Exception:
            outbox.release_failed(pk)
            failed.append(pk)
            continue
        outbox.mark_sent(pk, timezone.now())
        sent += 1
    if failed:
        # Exponential back-off; after the last retry the rows stay unsent and visible in admin.
        raise self.retry(args=[failed], countdown=min(3600, 60 * 2**self.request.retries))
    return sent
