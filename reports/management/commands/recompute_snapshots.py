"""`manage.py recompute_snapshots [--year Y --quarter Q]`: compute a finished quarter's kept
figures again (reports.snapshots), e.g. after correcting data or loading an official calendar
that changes its working times.

The portal's figures are computed now; every other scope's snapshot of the quarter is dropped
and computed again by its next view, as the nightly task does for the last quarter.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports import snapshots
from reports.management.periods import add_period_arguments, period_from


class Command(BaseCommand):
    help = "Recompute a finished quarter's stored figures (default: the quarter just ended)."

    def add_arguments(self, parser):
        add_period_arguments(parser)

    def handle(self, *args, year=None, quarter=None, **options):
        period = period_from(year, quarter)
        if period.end > timezone.now():
            raise CommandError(
                f"{period.label} has not ended: its figures are cached for minutes, not stored."
            )
        dropped, kept = snapshots.recompute_finished(period)
        self.stdout.write(
            f"{period.label}: {dropped} snapshot(s) dropped; the portal's recomputed "
            f"({kept['received']} received)."
        )
