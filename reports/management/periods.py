"""The quarter a report command works on: `--year Y --quarter Q`, or the quarter just ended."""

from django.core.management.base import CommandError
from django.utils import timezone

from reports.figures import MAX_YEAR, MIN_YEAR, Period


def add_period_arguments(parser) -> None:
    parser.add_argument("--year", type=int)
    parser.add_argument("--quarter", type=int, choices=[1, 2, 3, 4])


def period_from(year: int | None, quarter: int | None) -> Period:
    if (year is None) != (quarter is None):
        raise CommandError("Give both --year and --quarter, or neither.")
    if year is None or quarter is None:
        return Period.containing(timezone.now()).previous()
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CommandError(f"The year must be between {MIN_YEAR} and {MAX_YEAR}.")
    return Period(year, quarter)
