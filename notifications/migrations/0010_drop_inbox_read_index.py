"""The index on (recipient, read_at) goes: the partial unread index (recipient, -created_at,
-id) WHERE read_at IS NULL serves the unread count and "mark all read" as well, and no query
asks for the read messages alone. Every inbox row the sweep writes had an entry in it: two
million per million firings (docs/performance.md). Dropped without locking the inbox against
writes (`core.migration_operations`)."""

from django.db import migrations

from core.migration_operations import RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # PostgreSQL drops an index concurrently only outside a transaction

    dependencies = [("notifications", "0009_report_added")]

    operations = [RemoveIndexConcurrently(model_name="notification", name="notification_inbox")]
