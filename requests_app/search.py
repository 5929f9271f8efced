"""The one text search of requests: title, description and reference, Chinese included. The
API's `search` filter, the officials' queue and the inspector's console all call `matching`.

What a search finds is defined by icontains: the text, case folded, appears in the title, the
description or the reference. On PostgreSQL an index finds the candidates first; on SQLite
(the embedded demo) icontains alone does the work.

Why character bigrams and not pg_trgm (issue 14; benchmarks/search_benchmark.py measures it):

- Chinese is not written in words, and the searches people make are mostly two characters
  (社保, 审批, 用地). pg_trgm cannot serve a two-character LIKE: it extracts no trigram from
  `%社保%`, so PostgreSQL reads the whole index or the whole table.
- pg_trgm keeps only the characters the database's LC_CTYPE calls alphanumeric: in a database
  created with the C locale it drops every Chinese character, silently. A bigram index does
  not depend on the locale.
- A segmenter (jieba) needs a dictionary, misses what it segments differently from the query,
  and cannot find part of a word or a reference.

So the index (migration 0014) is a GIN index over a generated column, `search_bigrams`:
`request_search_bigrams(title, description, reference)`, the set of every two consecutive
characters of the three fields, upper-cased as Django's icontains folds them, each field ended
by a newline. A search of two or more characters asks for all of its bigrams (an AND of
lexemes); one character asks for the bigrams it starts (a prefix query), which the newline
guarantees for a field's last character. Up to two characters the index's answer is exact;
for longer texts the bigrams say where the text may be, and icontains, on those candidates
only, says where it is. PostgreSQL computes the column on every write, whoever writes (the
workflow, the admin, bulk SQL); Django does not know it, so no page reads it but a search.
A column rather than an expression index: when many requests match, PostgreSQL reads the
newest in order and checks each, and an expression index would compute the bigrams again for
every row it checks (at 1M requests, a page of 社保 took 81 ms that way, 25 ms from the
column; the column costs the table about 0.4 KB a request).

A text that most requests hold (企业) matches most of the table whatever the index: its first
page is quick (the newest rows match), its exact count is not; pages count up to a cap.
"""

import math
from dataclasses import dataclass

from django.db import connections
from django.db.models import BooleanField, F, Func, Q, QuerySet, Value
from django.db.models.fields import TextField

from core import pagination

# What migration 0014 creates: the generated column of bigrams, and the function that turns a
# search text into a query of them.
COLUMN = "search_bigrams"
QUERY_FUNCTION = "search_bigram_query"
# Up to this length the bigrams are the answer, not only the candidates: a field holds a
# two-character text exactly when it holds that bigram, and a character exactly when it starts
# one (every field ends with a newline, and a stripped text of two characters holds none). So
# icontains, which reads every candidate's description again, is needed only for longer texts.
EXACT_LENGTH = 2
# A page of a longer text has two plans, and the planner cannot tell which from statistics: it
# takes the bigrams of a word (融资, 资贷, 贷款) as independent, multiplies their frequencies, and
# expects 119 rows of 融资贷款 where 50,001 match (at 1M requests; it then fetched, joined and
# sorted all of them for a page: 434 ms); the same product is right for a text whose bigrams
# are common but seldom together (9936: 300 matches). So `matching` first reads, through the
# bigram index, the ids of up to MANY matches in the caller's scope, and then:
# - up to FEW (the largest page): the ids are the answer. The count and the page read those
#   rows by primary key; the bigram index, slow for bigrams every request holds (a reference's
#   QQ2026…), is read once instead of twice. Thousands of ids cost more to send and plan than
#   that saves (3,999: twice the time of the next way).
# - up to MANY: the index finds the matches, and the page sorts them all. However wrong the
#   planner's guess, that costs at most MANY rows (about 6 µs each with their joins).
# - MANY or more: the page walks the list's order index from the newest and checks each row,
#   about 100 × scope / matches rows for a page of 100, the capped count ten times that. At 1M
#   requests both plans cost the same at a few thousand matches in the worst case, digits
#   (every request holds their bigrams, so each row walked is checked by strpos): 936's 3,999
#   matches cost less sorted, 2026099's 10,000 less walked, 融资贷款's 50,001 20 times less.
#   Reading the ids costs a dense text about 5 ms a thousand.
# MANY is for a page of MANY_PAGE rows. A smaller page is walked for fewer rows, in proportion,
# while sorting costs the same, so the plans cost the same at fewer matches: as the square
# root of the page (`many_for`). The console's pages of 10 probe for 1,581 and so read a third
# of the rows they read for 5,000 (融资贷款 in a district: 55 ms became 26). Never fewer than a
# count's cap, so that a text walked needs no count.
FEW, MANY, MANY_PAGE = 200, 5000, 100


def many_for(page_size: int | None) -> int:
    """The number of matches from which pages of `page_size` rows are walked, not sorted
    (see MANY); MANY when the page's size is not known."""
    if page_size is None or page_size >= MANY_PAGE:
        return MANY
    floor = pagination.COUNT_CAP + 1
    return max(floor, round(MANY * math.sqrt(max(page_size, 1) / MANY_PAGE)))


class BigramsMatch(Func):
    """`search_bigrams @@ search_bigram_query(text)` (PostgreSQL only). The column is the
    database's alone (migration 0014): it is named here through the table's alias in the
    query, as the request's id is, so that a search inside a subquery names the right row."""

    output_field = BooleanField()
    arity = 2

    def __init__(self, text: str):
        super().__init__(F("pk"), Value(text, output_field=TextField()))

    def as_sql(self, compiler, connection, **extra_context):
        row, text = self.get_source_expressions()
        query_sql, params = compiler.compile(text)
        column = f"{connection.ops.quote_name(row.alias)}.{connection.ops.quote_name(COLUMN)}"
        return f"{column} @@ {QUERY_FUNCTION}({query_sql})", params


class _HeldIn(Func):
    """`strpos(upper(title \n description \n reference), upper(text)) > 0`: icontains over the
    three fields at once, for a text without a newline (PostgreSQL only). The planner guesses
    a LIKE '%…%' matches almost nothing, fewer the longer the text, and then joins and sorts
    thousands of candidates as if they were five; of this it makes no such guess.

    A text that nothing folds (`folds_case`: Chinese, digits, most punctuation) is looked for
    without upper(): upper() of a row's Chinese text was most of the cost of checking it (at
    1M requests, reading 5,000 matches of 融资贷款 in a district through the index: 47–54 ms
    without a check, 48–58 with strpos alone, 62–75 with upper)."""

    output_field = BooleanField()
    arity = 4

    def __init__(self, text: str):
        fields = [F("title"), F("description"), F("reference")]
        super().__init__(*fields, Value(text, output_field=TextField()))
        self.folds = folds_case(text)

    def as_sql(self, compiler, connection, **extra_context):
        (title, description, reference, text), params = zip(
            *(compiler.compile(expression) for expression in self.get_source_expressions()),
            strict=True,
        )
        held = f"{title} || chr(10) || {description} || chr(10) || coalesce({reference}, '')"
        if self.folds:
            held, text = f"upper({held})", f"upper({text})"
        return f"strpos({held}, {text}) > 0", [p for part in params for p in part]


def folds_case(text: str) -> bool:
    """Whether a case-insensitive search for `text` can find more than the text itself: some
    character of it has another case. When none has, upper() maps the text to itself and maps
    no other character onto one of its characters (PostgreSQL's upper() changes only cased
    characters, into cased ones; tests/requests_app/test_search.py checks every code point
    against the database), so a field holds the text, case folded, exactly when it holds it."""
    return any(char.upper() != char or char.lower() != char for char in text)


def contains(text: str) -> Q:
    """What a search finds: the text in the title, the description or the reference."""
    return Q(title__icontains=text) | Q(description__icontains=text) | Q(reference__icontains=text)


@dataclass(frozen=True)
class Matches:
    """A search's requests, and what the search learnt of their number, so that a page counting
    them up to a cap need not read them again.

    `known`: the exact number, when the probe (see `MANY`) read every match's id. `at_least`:
    the number it stopped at (`many_for` the page). Both None when no probe ran (SQLite, a
    text of up to EXACT_LENGTH, a blank text).
    """

    queryset: QuerySet
    known: int | None = None
    at_least: int | None = None


def matching(queryset: QuerySet, text: str) -> QuerySet:
    """The requests of `queryset` whose title, description or reference contains `text`
    (case-insensitive; surrounding blanks ignored; blank text narrows nothing). It only
    narrows: the caller's scope stays.

    On PostgreSQL a text longer than `EXACT_LENGTH` costs one query more, here: it reads the
    ids of up to `MANY` matches within the scope, which choose the plan (see `MANY`)."""
    return matches(queryset, text).queryset


def matches(queryset: QuerySet, text: str, *, page_size: int | None = None) -> Matches:
    """`matching`, with what its probe learnt of the number of matches (see `Matches`). The
    numbers are of `queryset` narrowed by the text: a caller that narrows it further must not
    use them. `page_size`: the rows of the caller's pages, when it is fixed (see `many_for`)."""
    text = text.strip()
    if not text:
        return Matches(queryset)
    if connections[queryset.db].vendor != "postgresql":
        return Matches(queryset.filter(contains(text)))
    if len(text) <= EXACT_LENGTH:
        return Matches(queryset.filter(BigramsMatch(text)))
    # A newline could match across two fields in `_HeldIn`.
    held = contains(text) if "\n" in text else _HeldIn(text)
    found = queryset.filter(BigramsMatch(text), held)
    many = many_for(page_size)
    ids = list(found.order_by().values_list("pk", flat=True)[:many])
    if len(ids) <= FEW:
        return Matches(queryset.filter(pk__in=ids), known=len(ids))
    if len(ids) < many:
        return Matches(found, known=len(ids))
    # Many match. With the check, any one of the text's bigrams finds the same rows as all of
    # them (every match holds each), and one lexeme, unlike an AND, the planner estimates from
    # the column's statistics: it sees it common and walks the list's order. The last one, as
    # a text's end tells requests apart best (a reference's last digits, not its QQ).
    return Matches(queryset.filter(BigramsMatch(text[-2:]), held), at_least=len(ids))
