"""The index of the request search (requests_app.search), on PostgreSQL only: the character
bigrams of a request's title, description and reference in a generated column, GIN indexed.
SQLite searches without an index (icontains), so there is nothing to do there.

The SQL is written out here rather than imported, so that this migration keeps doing what it
did when it was written. The functions call built-ins only (no function of ours, no schema),
so that they still resolve under the restricted search_path PostgreSQL gives maintenance
commands (ANALYZE, REINDEX, autovacuum).
"""

from django.db import migrations

# The bigrams of the three fields, folded with upper() as Django's icontains folds them on
# PostgreSQL. A newline ends each field, so every character starts a bigram: a one-character
# search is a prefix query over them. array_to_tsvector takes the bigrams as they are: no
# parser, no dictionary, nothing that depends on the database's locale.
# The bigrams are the pairs at odd positions and the pairs at even ones, two linear regexp
# passes: substr(text, i, 2) walks a UTF-8 text from its start, so a bigram per position took
# 4.6 s for a 10,000-character description, where the passes take 14 ms.
# COST: computing the bigrams takes about 50 µs for a short request (the default cost says a
# hundred operators, a fraction of that).
CREATE_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION request_search_bigrams(title text, description text, reference text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 4000 AS $fn$
    SELECT array_to_tsvector(ARRAY(
        SELECT pair[1] FROM regexp_matches(padded, '..', 'g') AS pair
        UNION ALL
        SELECT pair[1] FROM regexp_matches(substr(padded, 2), '..', 'g') AS pair))
    FROM (SELECT upper(title || E'\n' || description || E'\n' || coalesce(reference, '')
                       || E'\n') AS padded) AS folded
$fn$;
COMMENT ON FUNCTION request_search_bigrams(text, text, text) IS
    'Qinqing: the character bigrams the request search index holds (requests_app.search)';

CREATE OR REPLACE FUNCTION search_bigram_query(value text)
RETURNS tsquery LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $fn$
    SELECT CASE WHEN length(folded) = 1
        THEN ('''' || replace(replace(folded, '\', '\\'), '''', '''''') || ''':*')::tsquery
        ELSE (SELECT string_agg(
                  '''' || replace(replace(substr(folded, i, 2), '\', '\\'), '''', '''''')
                  || '''', ' & ')
              FROM generate_series(1, length(folded) - 1) AS i)::tsquery
    END
    FROM (SELECT upper(value) AS folded) AS q
$fn$;
COMMENT ON FUNCTION search_bigram_query(text) IS
    'Qinqing: the bigrams a search text needs, as a query of the request search index';
"""

# A stored column, not an expression index: a plan that reads the newest requests in order and
# filters them by the search (the planner's choice when many match) reads the column (a few
# µs a row) instead of computing the bigrams again (about 50 µs a row). PostgreSQL fills it on
# every INSERT and UPDATE, whoever writes; Django does not know the column, so no query of
# Django's reads it unless it searches.
CREATE_INDEX = """
ALTER TABLE requests_app_servicerequest ADD COLUMN IF NOT EXISTS search_bigrams tsvector
    GENERATED ALWAYS AS (request_search_bigrams(title, description, reference)) STORED;
CREATE INDEX IF NOT EXISTS req_search_bigrams ON requests_app_servicerequest
    USING gin (search_bigrams);
"""

DROP = """
DROP INDEX IF EXISTS req_search_bigrams;
ALTER TABLE requests_app_servicerequest DROP COLUMN IF EXISTS search_bigrams;
DROP FUNCTION IF EXISTS search_bigram_query(text);
DROP FUNCTION IF EXISTS request_search_bigrams(text, text, text);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTIONS)
    schema_editor.execute(CREATE_INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("requests_app", "0013_sealed_timeline")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
