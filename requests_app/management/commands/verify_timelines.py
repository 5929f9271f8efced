"""Check every timeline against the latest checkpoint; tell the inspectors of what fails."""

from django.core.management.base import BaseCommand, CommandError

from requests_app import checkpoints


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size=500, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        result = checkpoints.nightly_check(batch_size=batch_size)
        for failure in result.failures:
            self.stdout.write(
                f"{failure.reference} (#{failure.request_id}): " + " ".join(failure.check.messages)
            )
        for problem in result.checkpoint_problems:
            self.stdout.write(problem)
        for request_id in result.gone:
            self.stdout.write(f"request #{request_id} is in the checkpoint but not in the database")
        self.stdout.write(result.summary())
        if result.failures or result.checkpoint_problems or result.gone:
            raise CommandError("some timelines do not verify")
