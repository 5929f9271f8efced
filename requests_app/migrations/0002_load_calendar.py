"""Seed the working-day calendar for every year chinesecalendar knows (2004 onwards)."""

from django.db import migrations


def load(apps, schema_editor):
    from requests_app.calendar_loader import load_chinese_calendar

    load_chinese_calendar(apps.get_model("requests_app", "CalendarDay"),
                          apps.get_model("requests_app", "CalendarYear"))


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
