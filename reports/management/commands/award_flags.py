"""`manage.py award_flags [--year Y --quarter Q]`: award a quarter's red and yellow flags."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports import flags
from reports.figures import MAX_YEAR, MIN_YEAR, Period


class Command(BaseCommand):
    help = "Award the red and yellow flags of a quarter (default: the quarter just ended)."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int)
        parser.add_argument("--quarter", type=int, choices=[1, 2, 3, 4])

    def handle(self, *args, year=None, quarter=None, **options):
        if (year is None) != (quarter is None):
            raise CommandError("Give both --year and --quarter, or neither.")
        if year is None:
            period = Period.containing(timezone.now()).previous()
        elif not MIN_YEAR <= year <= MAX_YEAR:
            raise CommandError(f"The year must be between {MIN_YEAR} and {MAX_YEAR}.")
        else:
            period = Period(year, quarter)
        rows = flags.award_flags(period)
        red = sum(row.color == "red" for row in rows)
        cases = sum(row.case_id is not None for row in rows)
        self.stdout.write(
            f"{period.label}: {red} red, {len(rows) - red} yellow flags; {cases} case(s) proposed."
        )
