"""Celery tasks of the messages: they take ids and hold no business logic."""

from celery import shared_task
from django.core.mail import get_connection
from django.utils import timezone

from notifications import digest, outbox
from notifications.email import EMAIL_MAX_ATTEMPTS, send_email
from notifications.models import Notification

# E-mails claimed and loaded together: a set is two statements, and goes out over one
# connection to the mail server. Small enough that the last of a set is sent well within the
# claim's timeout, even from a slow mail server.
CLAIM_SET = 100


@shared_task(bind=True, max_retries=EMAIL_MAX_ATTEMPTS, default_retry_delay=60)
def send_notification_emails(self, notification_ids: list[int]) -> int:
    """Send the e-mails of these inbox rows; retry the ones the mail server refused.

    The rows are claimed in sets just before they are sent (notifications/outbox.py), so a row
    that another task is sending, or has sent since this task was queued, is left alone. Each
    row is marked sent as soon as the mail server took it, one statement per e-mail: marking a
    set at its end would let a worker killed mid-set send the whole set again, where now at most
    the one e-mail in flight can go out twice.
    """
    failed: list[int] = []
    sent = 0
    for start in range(0, len(notification_ids), CLAIM_SET):
        claimed = outbox.claim_set(notification_ids[start : start + CLAIM_SET], timezone.now())
        if claimed:
            sent += _send_set(claimed, failed)
    if failed:
        # Exponential back-off; after the last retry the rows stay unsent and visible in admin.
        raise self.retry(args=[failed], countdown=min(3600, 60 * 2**self.request.retries))
    return sent


def _send_set(claimed: list[int], failed: list[int]) -> int:
    # A row whose recipient was deleted since is simply not loaded: nothing to send.
    rows = Notification.objects.select_related("recipient").filter(pk__in=claimed).order_by("pk")
    mail_server = get_connection()
    try:
        mail_server.open()
    except Exception:  # the mail server is unreachable: the whole set waits for the retry
        outbox.release_set(claimed)
        failed.extend(claimed)
        return 0
    sent = 0
    try:
        for notification in rows:
            try:
                send_email(notification, connection=mail_server)
            except Exception:
                outbox.release_failed(notification.pk)
                failed.append(notification.pk)
                continue
            outbox.mark_sent(notification.pk, timezone.now())
            sent += 1
    finally:
        mail_server.close()
    return sent


@shared_task
def send_daily_digests() -> int:
    """Beat, shortly after midnight in Shanghai: each user's digest of the day before, once."""
    return digest.send_digests(timezone.now())
