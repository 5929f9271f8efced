"""One e-mail: rendered in its recipient's language from the inbox row, sent by Django's mail."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from notifications.models import Notification

# How often the outbox tries one e-mail before leaving it unsent (and visible in the admin).
EMAIL_MAX_ATTEMPTS = 8


def language_of(user) -> str:
    """The language every message to `user` is written in: their choice (the language switch,
    /api/v1/me/), else the portal's default. A code the portal does not speak is no choice."""
    language = user.language
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def send_email(notification: Notification, connection=None) -> None:
    """Render and send one e-mail in the recipient's language; raises if the mail server fails.
    `connection`: an open connection to the mail server, to send a set over one."""
    user = notification.recipient
    with translation.override(language_of(user)):
        context = {
            "notification": notification,
            "user": user,
            "site_url": settings.SITE_URL.rstrip("/"),
            # No request, so no i18n context processor: the HTML's lang attribute needs it here.
            "LANGUAGE_CODE": translation.get_language(),
        }
        text = render_to_string("email/notification.txt", context)
        html = render_to_string("email/notification.html", context)
    mail = EmailMultiAlternatives(
        notification.subject, text, settings.DEFAULT_FROM_EMAIL, [user.email], connection=connection
    )
    mail.attach_alternative(html, "text/html")
    mail.send()
