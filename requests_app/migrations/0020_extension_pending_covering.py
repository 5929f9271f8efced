"""The waiting extensions' index carries the enterprise, liaison and department (PostgreSQL's
INCLUDE; other databases build it without): a leader's count of those to decide need not
read the table."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("officials", "0006_department_name_en"),
        ("requests_app", "0019_escalation_rule_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="servicerequest",
            name="req_extension_pending",
        ),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(
                condition=models.Q(("extension_state", "pending"), ("status", "rectifying")),
                fields=["extension_until", "id"],
                include=("enterprise", "liaison", "department"),
                name="req_extension_pending",
            ),
        ),
    ]
