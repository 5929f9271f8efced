"""On PostgreSQL, autovacuum visits the deadline table after 2% of its rows have changed, not
the default 20%.

Every firing of the sweep and every transition that starts or stops a clock rewrites a deadline
row, and the sweep's pending index keeps an entry for each old version until a vacuum. At 10M
requests the table holds some 3,000,000 rows: by default 600,000 dead rows before autovacuum
came, and every sweep in between walked their entries (README, "Sizing PostgreSQL"). A sweep
that fires 50,000 or more vacuums the table itself (`requests_app.escalation._tidy`).
"""

from django.db import migrations

SETTINGS = ("autovacuum_vacuum_scale_factor", "autovacuum_analyze_scale_factor")


def storage(value):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return  # SQLite has no autovacuum
        table = schema_editor.quote_name(apps.get_model("requests_app", "Deadline")._meta.db_table)
        if value is None:
            schema_editor.execute(f"ALTER TABLE {table} RESET ({', '.join(SETTINGS)})")
        else:
            pairs = ", ".join(f"{name} = {float(value)}" for name in SETTINGS)
            schema_editor.execute(f"ALTER TABLE {table} SET ({pairs})")

    return apply


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0022_queue_covers_scope")]

    operations = [migrations.RunPython(storage(0.02), storage(None))]
