"""Migration operations shared by the apps.

`AddIndexConcurrently` builds an index on PostgreSQL without locking the table against writes:
at a province's scale a plain CREATE INDEX on the request table holds every filing, action and
sweep for the minutes it takes. Other databases (SQLite: tests, the embedded demo) have no such
statement, and their tables are small, so there the index is added the ordinary way. A
migration using it must say `atomic = False`: PostgreSQL builds concurrently only outside a
transaction.
"""

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrently(PostgresConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
