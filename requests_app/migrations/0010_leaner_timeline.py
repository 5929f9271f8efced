"""Leaner timeline writes for the sweep: system events stay out of the actor index, and on
PostgreSQL the heads' pages keep a third free so that moving a head is a HOT update."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def head_fillfactor(value):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite has no fill factor
        table = schema_editor.quote_name(
            apps.get_model("requests_app", "TimelineHead")._meta.db_table
        )
        if value is None:
            schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")
        else:
            schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("requests_app", "0009_leaner_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="requestevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="actor",
            ),
        ),
        migrations.AddIndex(
            model_name="requestevent",
            index=models.Index(
                condition=models.Q(("actor__isnull", False)), fields=["actor"], name="event_actor"
            ),
        ),
        migrations.RunPython(head_fillfactor(70), head_fillfactor(None)),
    ]
