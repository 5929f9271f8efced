"""Migration operations shared by the apps.

`AddIndexConcurrently` builds an index on PostgreSQL without locking the table against writes:
at a province's scale a plain CREATE INDEX on the request table holds every filing, action and
sweep for the minutes it takes. `RemoveIndexConcurrently` drops one the same way (a plain DROP
INDEX waits for every query on the table and holds every later one behind it). Other databases
(SQLite: tests, the embedded demo) have no such statements, and their tables are small, so
there the index is added or removed the ordinary way. A migration using them must say
`atomic = False`: PostgreSQL builds and drops concurrently only outside a transaction.
"""

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresConcurrently
from django.contrib.postgres.operations import (
    RemoveIndexConcurrently as PostgresRemoveConcurrently,
)
from django.db.migrations.operations import AddIndex, RemoveIndex
from django.db.migrations.operations.base import Operation


class _ConcurrentlyOnPostgres(Operation):
    """The PostgreSQL operation (the next class in line) there; `plain` everywhere else."""

    plain: type[Operation]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            self.plain.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddIndexConcurrently(_ConcurrentlyOnPostgres, PostgresConcurrently):
    plain = AddIndex


class RemoveIndexConcurrently(_ConcurrentlyOnPostgres, PostgresRemoveConcurrently):
    plain = RemoveIndex
