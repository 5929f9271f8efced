"""The inbox page read off an index in the order it shows (newest first, the id breaking ties):
a long inbox no longer sorts every row of its owner for one page."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_timeline_tampered"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                fields=["recipient", "-created_at", "-id"], name="notification_inbox_order"
            ),
        ),
    ]
