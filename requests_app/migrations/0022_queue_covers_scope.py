"""The queue's index carries the enterprise, liaison and department (PostgreSQL's INCLUDE; other
databases build it without), as the ledger's do (0021): a liaison's capped count of their
queue checks the scope from the index alone (at 1,000,000 requests some 10,000 open requests
walked to find 1,001 of theirs: 6 ms from the table, 2 ms from the index).

Built concurrently on PostgreSQL under a name of its own before the old index is dropped, then
given the old name (a change of the catalogue only), so the queue always has an index to read
and filings go on meanwhile.
"""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently

_OPEN = ["assigned", "feedback", "info_needed", "rectifying", "submitted"]
NEXT_DUE = models.Case(
    models.When(status="submitted", then=models.F("assign_due_at")),
    default=models.F("answer_due_at"),
)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("requests_app", "0021_ledger_covers_scope")]

    operations = [
        AddIndexConcurrently(
            model_name="servicerequest",
            index=models.Index(
                NEXT_DUE,
                models.F("id"),
                condition=models.Q(("status__in", _OPEN)),
                include=("enterprise", "liaison", "department"),
                name="req_queue_covering",
            ),
        ),
        RemoveIndexConcurrently(model_name="servicerequest", name="req_queue"),
        migrations.RenameIndex(
            model_name="servicerequest", new_name="req_queue", old_name="req_queue_covering"
        ),
    ]
