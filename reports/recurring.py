"""Recurring problems (问题台账 / 共性问题): growing categories and phrases that keep coming back.

Categories are counted in SQL. Phrases are mined from the titles and descriptions of the most
recent `TEXT_SAMPLE` requests of the quarter (and of the quarter before, for comparison):
Chinese text is cut into words by jieba, other text is split into words. A phrase counts once
per request; it recurs when at least `MIN_REQUESTS` requests of the quarter use it.
"""

import functools
import logging
import re
from collections import Counter

from django.db.models import Count, QuerySet

from reports import figures
from reports.figures import Period

TEXT_SAMPLE = 2000
MIN_REQUESTS = 2
TOP_PHRASES = 10
EXAMPLES = 3

_HAN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")
# Words that say nothing about the problem (function words, and the request's own vocabulary).
_STOPWORD_TEXT = """
    the and for are was were has have had not but with from this that they them their there our
    ours you your its into about after before since than then when what which who will would
    could should can cannot been being does did doing very also just only still more most some
    any all each other such because while where how why request please help need needs issue
    我们 你们 他们 企业 公司 问题 情况 相关 进行 已经 目前 一直 希望 请求 需要 能够 没有 因为
    所以 但是 还是 如果 这个 那个 一个 可以 诉求 反映 申请 尽快 帮助 协调 解决
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@functools.cache
def _segmenter():
    """jieba, its log quieted once: not the dictionary's loading chatter on every worker (and
    setting a logger's level clears the logging caches: per text, that was a fifth of the time)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokens(text: str) -> set[str]:
    """The distinct words of a text: jieba for Chinese runs, words of 3+ letters otherwise."""
    jieba = _segmenter()
    found: set[str] = set()
    for run in _HAN.findall(text):
        for word in jieba.cut(run):
            if len(word) >= 2 and word not in STOPWORDS:
                found.add(word)
    for word in _LATIN_WORD.findall(text):
        word = word.lower()
        if word not in STOPWORDS:
            found.add(word)
    return found


def _sample(received: QuerySet) -> list[tuple]:
    """The quarter's most recent `TEXT_SAMPLE` requests: (pk, reference, title, description)."""
    rows = received.order_by("-submitted_at", "-id").values_list(
        "pk", "reference", "title", "description"
    )[:TEXT_SAMPLE]
    return list(rows)


def _phrase_counts(rows: list[tuple]) -> tuple[Counter, dict[str, list[dict]]]:
    counts: Counter = Counter()
    examples: dict[str, list[dict]] = {}
    for pk, reference, title, description in rows:
        for word in tokens(f"{title}\n{description}"):
            counts[word] += 1
            listed = examples.setdefault(word, [])
            if len(listed) < EXAMPLES:
                listed.append({"id": pk, "reference": reference, "title": title})
    return counts, examples


def growing_categories(requests: QuerySet, period: Period, counts=None) -> list[dict]:
    """Categories with more requests this quarter than the quarter before.

    `counts`: (this quarter's, the quarter before's) received by category code, when the
    caller's pass has them already.
    """

    def by_category(p: Period) -> dict[str, int]:
        rows = (
            figures.received_in(requests, p)
            .order_by()
            .values("category__code")
            .annotate(n=Count("pk"))
        )
        return {row["category__code"]: row["n"] for row in rows}

    now, before = counts or (by_category(period), by_category(period.previous()))
    growing = [
        {
            "kind": "category",
            "category": code,
            "count": count,
            "previous": before.get(code, 0),
            "growth": count - before.get(code, 0),
        }
        for code, count in now.items()
        if count > before.get(code, 0) and count >= MIN_REQUESTS
    ]
    return sorted(growing, key=lambda item: (-item["growth"], item["category"]))


def phrase_samples(requests: QuerySet, period: Period) -> tuple[list[tuple], list[tuple]]:
    """The texts recurring phrases are mined from: (this quarter's sample, the one before's).
    Two short reads; what `phrases_of` then does with them needs no database."""
    return (
        _sample(figures.received_in(requests, period)),
        _sample(figures.received_in(requests, period.previous())),
    )


def phrases_of(now: list[tuple], before: list[tuple]) -> list[dict]:
    """The recurring phrases of `now`'s texts, with how many of `before`'s texts used each.

    Pure Python, no database: reports.selectors runs it in a thread while PostgreSQL counts
    the quarter, since cutting the words of 4,000 texts takes a core for a few hundred ms.
    """
    counts, examples = _phrase_counts(now)
    recurring = [(word, n) for word, n in counts.items() if n >= MIN_REQUESTS]
    recurring.sort(key=lambda item: (-item[1], item[0]))
    recurring = recurring[:TOP_PHRASES]
    if not recurring:
        return []
    previous, _examples = _phrase_counts(before)
    return [
        {
            "kind": "phrase",
            "phrase": word,
            "count": n,
            "previous": previous.get(word, 0),
            "examples": examples[word],
        }
        for word, n in recurring
    ]


def recurring_phrases(requests: QuerySet, period: Period) -> list[dict]:
    return phrases_of(*phrase_samples(requests, period))


def recurring_problems(
    requests: QuerySet, period: Period, category_counts=None, phrases=None
) -> list[dict]:
    """Growing categories first, then recurring phrases, each with example requests.

    `phrases`: the recurring phrases (`phrases_of`), when the caller mined them already.
    """
    categories = growing_categories(requests, period, category_counts)
    for item in categories:
        item["examples"] = list(
            figures.received_in(requests, period)
            .filter(category__code=item["category"])
            .order_by("-submitted_at", "-id")
            .values("id", "reference", "title")[:EXAMPLES]
        )
    if phrases is None:
        phrases = recurring_phrases(requests, period)
    return categories + phrases
