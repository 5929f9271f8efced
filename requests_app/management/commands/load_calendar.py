"""`manage.py load_calendar`: load or refresh the working-day calendar from chinesecalendar."""

from django.core.management.base import BaseCommand, CommandError

from requests_app.calendar_loader import load_chinese_calendar, official_years
from requests_app.models import CalendarDay, CalendarYear


class Command(BaseCommand):
    help = "Load or refresh the working-day calendar (holidays and make-up working days)."

    def add_arguments(self, parser):
        parser.add_argument(
            "years",
            nargs="*",
            type=int,
            help="Years to load (default: every year the package knows).",
        )

    def handle(self, *args, years, **options):
        known = official_years()
        unknown = [year for year in years if year not in known]
        if unknown:
            raise CommandError(
                f"No official data for {unknown}: chinesecalendar covers {known.start}–"
                f"{known.stop - 1}. Upgrade the package, or add the year's holidays and make-up "
                "days in the admin (Calendar exceptions) and a Calendar year row."
            )
        loaded = load_chinese_calendar(CalendarDay, CalendarYear, years or None)
        self.stdout.write(
            f"Loaded {len(loaded)} years ({min(loaded)}–{max(loaded)}), "
            f"{sum(loaded.values())} holidays and make-up working days."
        )
