"""Every list read off an index in the order it shows, with the id breaking ties.

The queue orders by the due time of the clock worked to next (`requests_app.models.NEXT_DUE`:
the assign clock while submitted, else the answer clock). It is indexed as that expression,
not kept as a stored column: the due times are written by the workflow, the calendar's
re-basing (a bulk UPDATE), the sweep's set-based SQL and bare rows in tests and benchmarks, and
an expression index stays right under every one of them, with no back-fill, no wider row and no
column that could drift. PostgreSQL reads it for an ORDER BY that is the same expression,
which `queue_for` takes from the same constant.

`req_submitted_id` takes the place of `req_submitted_at`: it serves the same ranges, and the
lists ordered by submission with their tie-break.
"""

from django.db import migrations, models

OPEN = ["assigned", "feedback", "info_needed", "rectifying", "submitted"]
NEXT_DUE = models.Case(
    models.When(status="submitted", then=models.F("assign_due_at")),
    default=models.F("answer_due_at"),
)


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0014_search")]

    operations = [
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(
                NEXT_DUE, models.F("id"), condition=models.Q(status__in=OPEN), name="req_queue"
            ),
        ),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(
                models.F("department"),
                NEXT_DUE,
                models.F("id"),
                condition=models.Q(status__in=OPEN),
                name="req_queue_department",
            ),
        ),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(fields=["submitted_at", "id"], name="req_submitted_id"),
        ),
        migrations.RemoveIndex(model_name="servicerequest", name="req_submitted_at"),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(fields=["answer_due_at", "id"], name="req_answer_due_id"),
        ),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(
                fields=["answer_due_at", "id"],
                condition=models.Q(extension_state="approved", status__in=OPEN),
                name="req_ledger_open",
            ),
        ),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(
                fields=["-closed_at", "-id"],
                condition=models.Q(extension_state="approved", status="closed"),
                name="req_ledger_closed",
            ),
        ),
        migrations.AddIndex(
            model_name="servicerequest",
            index=models.Index(
                fields=["extension_until", "id"],
                condition=models.Q(extension_state="pending", status="rectifying"),
                name="req_extension_pending",
            ),
        ),
    ]
