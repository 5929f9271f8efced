"""`manage.py load_calendar`: load or refresh the working-day calendar, from chinesecalendar or
from a CSV file (through the calendar service, which re-bases the running clocks)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, no_translations

from requests_app import calendar
from requests_app.calendar_csv import DaysFileError
from requests_app.calendar_loader import load_chinese_calendar, official_years
from requests_app.models import CalendarDay, CalendarYear

FILE_HELP = """\
A CSV file of one year's holidays and make-up working days, loaded through the calendar
service: the year's exceptions are replaced, the year becomes official, and the running clocks
the change moves are re-based (each with a clock_rebased event). The first line is the header
date,working,name; then one day a line: the date as YYYY-MM-DD, working as 1 or true (a make-up
working day, 调休上班) or 0 or false (a day off), and the holiday's name (may be empty), e.g.
2027-01-01,0,元旦 and 2027-02-13,1,春节. Weekend days off and weekdays worked need no line. All
days must be in one year (the one given with --year, if given). A bad line stops the load with
its line number; nothing is saved."""


def ways_to_load(year: int) -> str:
    return (
        f"Load {year} in one of three ways: paste the State Council's holiday notice on the admin "
        f"page {calendar.calendar_page(year)} (it previews the days before saving); "
        f'PUT /api/v1/calendar/{year}/ with {{"notice": ...}} or {{"days": [...]}}; or '
        f"`manage.py load_calendar --file {year}.csv` (see --help for the format). On that page "
        "an admin may instead confirm the Monday–Friday fallback for the year."
    )


class Command(BaseCommand):
    help = (
        "Load or refresh the working-day calendar (holidays and make-up working days): from the "
        "chinesecalendar package for the years it knows, or from a CSV file with --file."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "years",
            nargs="*",
            type=int,
            help="Years to load from chinesecalendar (default: every year the package knows).",
        )
        parser.add_argument("--file", metavar="PATH", help=FILE_HELP)
        parser.add_argument(
            "--year",
            type=int,
            help="With --file: the year the file holds (default: the year of its dates).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="With --file: read the file and report what would change; save nothing.",
        )

    @no_translations  # messages in English, whatever the portal's default language
    def handle(self, *args, years, file, year, dry_run, **options):
        if file:
            if years:
                raise CommandError("Give either years (from chinesecalendar) or --file, not both.")
            return self._load_file(Path(file), year, dry_run)
        if year is not None or dry_run:
            raise CommandError("--year and --dry-run go with --file.")
        known = official_years()
        unknown = [year for year in years if year not in known]
        if unknown:
            raise CommandError(
                f"chinesecalendar has no data for {', '.join(map(str, unknown))}: it covers "
                f"{known.start}–{known.stop - 1}. {ways_to_load(unknown[0])}"
            )
        loaded = load_chinese_calendar(CalendarDay, CalendarYear, years or None)
        self.stdout.write(
            f"Loaded {len(loaded)} years ({min(loaded)}–{max(loaded)}), "
            f"{sum(loaded.values())} holidays and make-up working days."
        )

    def _load_file(self, path: Path, year: int | None, dry_run: bool) -> None:
        if year is not None and not calendar.FIRST_YEAR <= year <= calendar.LAST_YEAR:
            raise CommandError(
                f"--year must be between {calendar.FIRST_YEAR} and {calendar.LAST_YEAR}."
            )
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from None
        try:
            year, days = calendar.days_from_csv(text, year)
            if year is None:
                raise CommandError(f"{path} lists no days: give the year with --year.")
            if not calendar.FIRST_YEAR <= year <= calendar.LAST_YEAR:
                raise CommandError(f"{year} is outside {calendar.FIRST_YEAR}–{calendar.LAST_YEAR}.")
            loaded = calendar.load_year(year, days, dry_run=dry_run, source=calendar.SOURCE_FILE)
        except DaysFileError as error:
            raise CommandError(f"{path}, {error}; nothing was saved.") from None
        except calendar.CalendarInputError as error:
            raise CommandError(f"{path}: {error.message} Nothing was saved.") from None
        off = sum(not day.working for day in loaded.days)
        days = f"{off} weekdays off and {len(loaded.days) - off} make-up working days"
        if dry_run:
            self.stdout.write(
                f"Dry run, nothing saved: {year} from {path} has {days}; "
                f"{loaded.rebased} running requests would be re-based."
            )
        else:
            self.stdout.write(
                f"Loaded {year} from {path}: {days}; {loaded.rebased} running requests re-based."
            )
