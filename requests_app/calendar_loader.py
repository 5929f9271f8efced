"""Filling the working-day calendar table from the `chinesecalendar` package (the seed source)."""

import datetime as dt

from django.utils import timezone

from requests_app.working_time import by_weekday, calendar_changed


def official_years() -> range:
    import chinese_calendar

    holidays = chinese_calendar.holidays
    return range(min(holidays).year, max(holidays).year + 1)


def load_chinese_calendar(calendar_day_model, calendar_year_model, years=None) -> dict[int, int]:
    """Store every exception to the weekday rule for each year `chinesecalendar` knows.

    Takes the model classes so that a data migration can call it with historical models.
    Rows an admin added by hand for other years are left alone. Returns {year: exceptions}.
    """
    import chinese_calendar

    years = list(years or official_years())
    loaded: dict[int, int] = {}
    for year in years:
        day = dt.date(year, 1, 1)
        rows = []
        while day.year == year:
            is_working = chinese_calendar.is_workday(day)
            if is_working != by_weekday(day):
                _, name = chinese_calendar.get_holiday_detail(day)
                label = str(name) if name else ""
                rows.append(calendar_day_model(date=day, is_working=is_working, name=label))
            day += dt.timedelta(days=1)
        calendar_day_model.objects.filter(date__year=year).delete()
        calendar_day_model.objects.bulk_create(rows)
        calendar_year_model.objects.update_or_create(
            year=year,
            defaults={
                "provisional": False,
                "source": "chinesecalendar",
                "loaded_at": timezone.now(),
            },
        )
        loaded[year] = len(rows)
    # bulk_create sends no signals, and a migration's historical models none at all.
    calendar_changed()
    return loaded
