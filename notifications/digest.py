"""The daily digest: one e-mail per user and day with the messages of the kinds they collect.

A message of a digest kind is written to the inbox with no e-mail of its own (`email_wanted`
false, notifications/messages.py); after the day ends (Asia/Shanghai) beat runs `send_digests`,
which gathers each such user's rows of that day and sends them as one e-mail in the user's
language. The `Digest` row of (user, day) makes it go out once: it is claimed before the e-mail
is sent and stamped after, so a second run, or one running at the same time, sends nothing
again. As with the outbox, only a worker killed between the mail server's acceptance and the
stamp can send one twice. Which kinds are collected is read when the digest is made: a kind
switched from the digest to "e-mail at once" during the day still has its earlier rows
digested, and a row e-mailed at once is never digested (its `email_wanted` is true).
"""

import datetime as dt
import logging
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import ngettext

from notifications.email import language_of
from notifications.models import Digest, Notification, Preference
from notifications.outbox import claim_timeout

logger = logging.getLogger(__name__)

# Users whose digests one claim takes together (two statements, one connection to the mail
# server), small enough to be sent well within the claim's timeout.
CLAIM_SET = 100
# Days looked back: a digest that beat or the workers missed goes out on the next run.
CATCH_UP_DAYS = 2
# The most messages one digest lists; the rest are in the inbox, and the e-mail says so.
MAX_ITEMS = 200


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The day in the portal's time zone, as the UTC instants it starts and ends."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


def digest_items(day: dt.date, user_ids=None):
    """The rows a day's digests collect: of the kinds each recipient collects, not e-mailed at
    once. Read off the inbox index (recipient, created_at) for the given users."""
    start, end = day_bounds(day)
    collected = Preference.objects.filter(
        user_id=OuterRef("recipient_id"), kind=OuterRef("kind"), digest=True
    )
    rows = Notification.objects.filter(
        Exists(collected), email_wanted=False, created_at__gte=start, created_at__lt=end
    )
    if user_ids is not None:
        rows = rows.filter(recipient_id__in=user_ids)
    return rows


def send_digests(now: dt.datetime | None = None) -> int:
    """Send every digest due by `now` (the days before today, CATCH_UP_DAYS back) that has not
    gone out; returns how many were sent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    for back in range(CATCH_UP_DAYS, 0, -1):
        sent += send_digests_of(today - dt.timedelta(days=back), now)
    return sent


def send_digests_of(day: dt.date, now: dt.datetime) -> int:
    """The digests of one day: the rows that make them sure to exist, then claimed and sent in
    sets."""
    users = _recipients(day)
    Digest.objects.bulk_create(
        [Digest(user_id=user_id, day=day) for user_id in users], ignore_conflicts=True
    )
    sent = 0
    for start in range(0, len(users), CLAIM_SET):
        claimed = claim(users[start : start + CLAIM_SET], day, now)
        if claimed:
            sent += _send_set(claimed, day)
    return sent


def _recipients(day: dt.date) -> list[int]:
    """Users with something to digest on `day` and an address to send it to."""
    # Only those who collect some kind in a digest are looked at: a handful of users, each
    # read off the inbox index, instead of every row of the day.
    collectors = Preference.objects.filter(digest=True).values("user_id").distinct()
    active = get_user_model().objects.filter(pk__in=collectors, is_active=True).exclude(email="")
    user_ids = list(active.order_by("pk").values_list("pk", flat=True))
    with_items: set[int] = set()
    for start in range(0, len(user_ids), 1000):
        chunk = user_ids[start : start + 1000]
        found = digest_items(day, chunk).values_list("recipient_id", flat=True).distinct()
        with_items.update(found.order_by())
    return [user_id for user_id in user_ids if user_id in with_items]


def claim(user_ids: list[int], day: dt.date, now: dt.datetime) -> list[int]:
    """Claim, in one transaction, those of these users' digests of `day` that are unsent and
    not held by a live claim; return the users. Two runs never claim the same digest: rows
    are locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers), and the
    UPDATE only takes rows still unclaimed."""
    lapsed = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_timeout())
    with transaction.atomic():
        rows = Digest.objects.filter(lapsed, day=day, user_id__in=user_ids, sent_at__isnull=True)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        pks = list(rows.values_list("pk", flat=True))
        Digest.objects.filter(lapsed, pk__in=pks).update(claimed_at=now)
        return list(
            Digest.objects.filter(pk__in=pks, claimed_at=now).values_list("user_id", flat=True)
        )


def _send_set(user_ids: list[int], day: dt.date) -> int:
    users = get_user_model().objects.filter(pk__in=user_ids).order_by("pk")
    items: dict[int, list[Notification]] = defaultdict(list)
    for row in digest_items(day, user_ids).order_by("recipient_id", "created_at", "id"):
        items[row.recipient_id].append(row)
    mail_server = get_connection()
    try:
        mail_server.open()
    except Exception:  # the mail server is unreachable: the next run takes the claims over
        logger.warning("Could not reach the mail server for %d digests.", len(user_ids))
        _release(user_ids, day)
        return 0
    sent = 0
    try:
        for user in users:
            rows = items.get(user.pk, [])
            try:
                if rows:
                    _mail(user, day, rows, connection=mail_server).send()
            except Exception:
                logger.warning("The digest of user %s could not be sent.", user.pk, exc_info=True)
                _release([user.pk], day)
                continue
            # Stamped at once, one statement per digest: a worker killed mid-set sends at most
            # the one digest in flight again.
            Digest.objects.filter(user=user, day=day).update(
                sent_at=timezone.now(), items=len(rows), attempts=F("attempts") + 1
            )
            sent += bool(rows)
    finally:
        mail_server.close()
    return sent


def _release(user_ids: list[int], day: dt.date) -> None:
    Digest.objects.filter(user_id__in=user_ids, day=day, sent_at__isnull=True).update(
        claimed_at=None, attempts=F("attempts") + 1
    )


def _mail(user, day: dt.date, rows: list[Notification], connection=None) -> EmailMultiAlternatives:
    """The digest e-mail, rendered in the user's language at the time it is made."""
    with translation.override(language_of(user)):
        subject = ngettext(
            "Qinqing daily digest for %(day)s: %(count)d message",
            "Qinqing daily digest for %(day)s: %(count)d messages",
            len(rows),
        ) % {"day": day.isoformat(), "count": len(rows)}
        context = {
            "user": user,
            "day": day,
            "items": rows[:MAX_ITEMS],
            "more": max(0, len(rows) - MAX_ITEMS),
            "site_url": settings.SITE_URL.rstrip("/"),
            "LANGUAGE_CODE": translation.get_language(),
        }
        text = render_to_string("email/digest.txt", context)
        html = render_to_string("email/digest.html", context)
    mail = EmailMultiAlternatives(
        subject, text, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection
    )
    mail.attach_alternative(html, "text/html")
    return mail
