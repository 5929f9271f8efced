"""Fast set-based writes of plain rows: COPY (inserts) and unnest (updates) on PostgreSQL,
executemany elsewhere.

The deadline sweep writes a timeline event, notifications and maybe a case for each of up to
100,000 requests at once. Building model instances and multi-row INSERT text would dominate
its run time, so it hands plain tuples here. Ids, when the caller needs them, are drawn first
(from the sequence on PostgreSQL; under the write lock on SQLite) and inserted explicitly.
"""

import datetime as dt
import json
from collections.abc import Sequence

from django.db import connection
from django.db.models import Field
from django.db.models.fields.related import ForeignObject
from django.db.models.lookups import In


def insert_rows(
    model, columns: Sequence[str], rows: list[tuple], *, with_ids: bool = False
) -> list[int]:
    """Insert `rows` (Python values in `columns` order) into `model`'s table; return new ids."""
    if not rows:
        return []
    meta = model._meta
    ids = _allocate_ids(meta, len(rows)) if with_ids else []
    if ids:
        columns = [meta.pk.column, *columns]
        rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in columns)
    with connection.cursor() as cursor:
        if _postgresql():
            statement = f"COPY {quote(meta.db_table)} ({names}) FROM STDIN"
            with cursor.cursor.copy(statement) as copy:
                # Only dict and list values need converting (to JSON text); find their columns
                # once from the first row rather than testing every value of every row.
                json_at = [i for i, value in enumerate(rows[0]) if isinstance(value, dict | list)]
                for row in rows:
                    if json_at:
                        values = list(row)
                        for i in json_at:
                            values[i] = json.dumps(values[i])
                        row = tuple(values)
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({marks})",
                [[_portable(value) for value in row] for row in rows],
            )
    return ids


def update_rows(model, key: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Set `columns` of the rows whose `key` column matches: `rows` are (key, *values) tuples.

    One `UPDATE … FROM unnest(…)` on PostgreSQL, whatever the number of rows; executemany
    elsewhere. Plain values only (no JSON)."""
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    names = [key, *columns]
    with connection.cursor() as cursor:
        if _postgresql():
            types = [meta.get_field(_field_name(meta, name)).db_type(connection) for name in names]
            arrays = ", ".join(f"%s::{kind}[]" for kind in types)
            assignments = ", ".join(f"{quote(name)} = m.{quote(name)}" for name in columns)
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} "
                f"FROM unnest({arrays}) AS m({', '.join(quote(name) for name in names)}) "
                f"WHERE t.{quote(key)} = m.{quote(key)}",
                [_array(list(values)) for values in zip(*rows, strict=True)],
            )
        else:
            assignments = ", ".join(f"{quote(name)} = %s" for name in columns)
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {quote(key)} = %s",
                [[_portable(value) for value in (*row[1:], row[0])] for row in rows],
            )


def _field_name(meta, column: str) -> str:
    """The model field stored in `column` (a foreign key's column is "<name>_id")."""
    return next(field.name for field in meta.concrete_fields if field.column == column)


def _postgresql() -> bool:
    # COPY and the sequence: PostgreSQL's fast paths; every other database takes the portable one.
    return connection.vendor == "postgresql"


def int_array(values) -> str:
    """Integers as one PostgreSQL array literal, to bind as `%s::bigint[]`.

    psycopg adapts a list element by element in Python; for the 5,000 to 10,000 ids of each
    sweep batch, one joined string is several times cheaper.
    """
    return "{" + ",".join(map(str, map(int, values))) + "}"


def text_array(values) -> str:
    """Strings (None: NULL) as one PostgreSQL array literal, to bind as `%s::text[]` (or
    varchar): as `int_array`, one string for psycopg to adapt instead of thousands."""
    return "{" + ",".join("NULL" if value is None else quoted(value) for value in values) + "}"


def quoted(text: str) -> str:
    """A string as an element of an array literal: double-quoted, with its backslashes and
    double quotes escaped (so commas, braces, spaces and the word NULL stay text)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array(values: list):
    """A column of `update_rows` as psycopg is best given it: integers or strings as one
    literal (psycopg adapts a list element by element in Python), anything else as the
    list."""
    if all(type(value) is int for value in values):  # not bool: a boolean column stays a list
        return int_array(values)
    if all(value is None or type(value) is str for value in values):
        return text_array(values)
    return values


def _json(value):
    return json.dumps(value) if isinstance(value, dict | list) else value


def _portable(value):
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return _json(value)


def _allocate_ids(meta, count: int) -> list[int]:
    table, column = meta.db_table, meta.pk.column
    with connection.cursor() as cursor:
        if _postgresql():
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, column, count],
            )
            return [pk for (pk,) in cursor.fetchall()]
        # SQLite: the surrounding transaction holds the database's write lock (IMMEDIATE), so
        # nobody else can take these ids; AUTOINCREMENT never reuses one below its counter.
        quote = connection.ops.quote_name
        cursor.execute(f"SELECT COALESCE(MAX({quote(column)}), 0) FROM {quote(table)}")
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cursor.fetchone()
        start = max(highest, found[0] if found else 0) + 1
        return list(range(start, start + count))


@Field.register_lookup
class AnyOf(In):
    """`field__any_of=[...]`: IN on most databases, `= ANY(array)` on PostgreSQL.

    A list of thousands of ids then travels as one array parameter instead of thousands of
    placeholders, which psycopg would otherwise splice into the SQL text one by one.
    """

    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [self.lhs.output_field.get_db_prep_value(v, connection) for v in self.rhs]
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


@ForeignObject.register_lookup
class RelatedAnyOf(AnyOf):
    """The same on a foreign key (`request_id__any_of=[...]`): plain ids only."""

    def get_prep_lookup(self):
        target = self.lhs.output_field.target_field
        return [target.get_prep_value(value) for value in self.rhs]
