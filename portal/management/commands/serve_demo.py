"""`manage.py serve_demo`: the embedded portal — web server, plus one Celery worker running beat.

The worker uses the broker the settings name (kombu's file-system transport when REDIS_URL is
not set), so the deadline sweep runs every minute in a demo with no services installed. The
beat runs inside this single worker (-B): exactly one beat.
"""

import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the portal and run one Celery worker with beat beside it (embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true", help="Serve pages only.")

    def handle(self, *args, addrport: str, no_worker: bool, **options):
        worker = None if no_worker else self._start_worker()
        # SIGTERM would end this process without unwinding; turn it into an exit so the
        # `finally` below stops the worker too.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        try:
            # No autoreloader: it would start the server twice, and this command owns a child.
            call_command("runserver", addrport, use_reloader=False)
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def _start_worker(self) -> subprocess.Popen:
        schedule = str(settings.CELERY_BEAT_SCHEDULE_FILENAME)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--beat",
            "--schedule",
            schedule,
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.stdout.write(f"Starting the Celery worker with beat ({settings.CELERY_BROKER_URL}).")
        return subprocess.Popen(command)  # noqa: S603 - fixed arguments, no shell
