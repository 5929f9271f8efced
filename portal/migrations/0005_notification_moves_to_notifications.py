"""The Notification model now lives in the `notifications` app; the table is left as it is."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_compliance_kinds"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="Notification")],
        ),
    ]
