"""`manage.py award_flags [--year Y --quarter Q]`: award a quarter's red and yellow flags."""

from django.core.management.base import BaseCommand

from reports import flags
from reports.management.periods import add_period_arguments, period_from


class Command(BaseCommand):
    help = "Award the red and yellow flags of a quarter (default: the quarter just ended)."

    def add_arguments(self, parser):
        add_period_arguments(parser)

    def handle(self, *args, year=None, quarter=None, **options):
        period = period_from(year, quarter)
        rows = flags.award_flags(period)
        red = sum(row.color == "red" for row in rows)
        cases = sum(row.case_id is not None for row in rows)
        self.stdout.write(
            f"{period.label}: {red} red, {len(rows) - red} yellow flags; {cases} case(s) proposed."
        )
