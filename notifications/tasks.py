"""Celery tasks of the messages: they take ids and hold no business logic."""

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from notifications.email import EMAIL_MAX_ATTEMPTS, send_email
from notifications.models import Notification


@shared_task(bind=True, max_retries=EMAIL_MAX_ATTEMPTS, default_retry_delay=60)
def send_notification_emails(self, notification_ids: list[int]) -> int:
    """Send the e-mails of these inbox rows; retry the ones the mail server refused."""
    pending = Notification.objects.filter(
        pk__in=notification_ids, emailed_at__isnull=True, email_wanted=True
    ).select_related("recipient")
    failed = []
    sent = 0
    for notification in pending:
        try:
            send_email(notification)
        except Exception:
            Notification.objects.filter(pk=notification.pk).update(
                email_attempts=F("email_attempts") + 1
            )
            failed.append(notification.pk)
            continue
        Notification.objects.filter(pk=notification.pk).update(
            emailed_at=timezone.now(), email_attempts=F("email_attempts") + 1
        )
        sent += 1
    if failed:
        # Exponential back-off; after the last retry the rows stay unsent and visible in admin.
        raise self.retry(args=[failed], countdown=min(3600, 60 * 2**self.request.retries))
    return sent
