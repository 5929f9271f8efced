"""Sign every timeline head into a checkpoint written outside the database (beat runs it daily)."""

from django.core.management.base import BaseCommand

from requests_app import checkpoints, sealing


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument(
            "--public-key",
            action="store_true",
            help="print the public key inspectors verify checkpoints with, and sign nothing",
        )

    def handle(self, *args, public_key=False, **options):
        if public_key:
            self.stdout.write(sealing.public_key_pem(), ending="")
            self.stdout.write(f"raw (base64): {sealing.public_key_text()}")
            return
        record = checkpoints.create()
        self.stdout.write(
            f"Checkpoint {record['id']} at {record['at']}: {record['requests']} timelines, "
            f"root {record['root']}, written to {checkpoints.folder() / checkpoints.LOG_NAME}"
        )
