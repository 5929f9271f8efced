"""`manage.py escalate`: run one deadline sweep now — the same code the beat runs every minute."""

from django.core.management.base import BaseCommand

from notifications.messages import requeue_unsent
from requests_app.escalation import sweep


class Command(BaseCommand):
    help = "Run one deadline sweep now (safe at any time, any number of times)."

    def handle(self, *args, **options):
        result = sweep()
        requeue_unsent(result.now)
        self.stdout.write(result.summary())
