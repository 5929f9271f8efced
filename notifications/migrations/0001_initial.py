"""The Notification model moves here from `portal`; its table stays as it is (state only)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("portal", "0004_compliance_kinds"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("request_assigned", "Request assigned"),
                                    ("handler_assigned", "New request for the department"),
                                    ("info_requested", "Information requested"),
                                    ("feedback_given", "Feedback given"),
                                    ("request_closed", "Request closed"),
                                    ("extension_pending", "Extension to approve"),
                                    ("reminder", "Reminder (催办)"),
                                    ("escalated", "Escalation (督办)"),
                                    ("accountability_opened", "Accountability case opened"),
                                    ("finding_violation", "Compliance violation found"),
                                    ("report_received", "Confidential report received"),
                                    (
                                        "case_opened",
                                        "Accountability case opened from a finding or report",
                                    ),
                                    ("case_decided", "Accountability case decided"),
                                ],
                                max_length=40,
                                verbose_name="kind",
                            ),
                        ),
                        ("subject", models.CharField(max_length=200, verbose_name="subject")),
                        ("body", models.TextField(verbose_name="message")),
                        ("body_html", models.TextField(blank=True, verbose_name="message (HTML)")),
                        ("link", models.CharField(blank=True, max_length=300, verbose_name="link")),
                        (
                            "created_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="sent"
                            ),
                        ),
                        (
                            "read_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="read"),
                        ),
                        (
                            "email_wanted",
                            models.BooleanField(default=True, verbose_name="e-mail wanted"),
                        ),
                        (
                            "emailed_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="e-mailed"),
                        ),
                        (
                            "email_attempts",
                            models.PositiveSmallIntegerField(
                                default=0, verbose_name="e-mail attempts"
                            ),
                        ),
                        (
                            "recipient",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="notifications",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="recipient",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "notification",
                        "verbose_name_plural": "notifications",
                        "db_table": "portal_notification",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["recipient", "read_at"], name="notification_inbox"
                            ),
                            models.Index(
                                condition=models.Q(
                                    ("email_wanted", True), ("emailed_at__isnull", True)
                                ),
                                fields=["created_at"],
                                name="notification_email_pending",
                            ),
                        ],
                    },
                ),
            ],
        ),
    ]
