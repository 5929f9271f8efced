"""Counts that stop at a cap, and the paginator of every long list (pages and API alike).

An exact COUNT(*) reads every row a list could show: at a province's scale that is most of the
request table for an administrator or a busy liaison, on every page view, just to print a number.
A list shows "1,000+" instead: the count reads at most `COUNT_CAP` + 1 rows (`LIMIT 1001`), in no
particular order, so the planner may take whichever index finds them soonest (the search's
bigram index finds a search's 1,001 rows in 25 ms at 1M, where walking the list's order to check
each row took up to 929 ms).
"""

import math
from dataclasses import dataclass
from functools import cached_property

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator

# Beyond this many rows a list says "1,000+": nobody pages through a thousand rows by number.
COUNT_CAP = 1000
# The rows a page of a list may show, chosen with `?page_size=` as on the API. The first is the
# default: a phone's screenful or two, and a page's cost grows with its rows (at 1M requests,
# through gunicorn, a liaison's queue page took 24 ms of the server's CPU at 50 rows, 18 ms at
# 20). A clerk at a desk picks more, and a saved view keeps the choice.
PAGE_SIZES = (20, 50, 100)


def chosen_page_size(params, default: int = PAGE_SIZES[0]) -> int:
    """The page size `params` asks for (`page_size`) if it is one of PAGE_SIZES, `default`
    otherwise: a size not offered, or not a number, is no error; the list is shown."""
    asked = params.get("page_size", "")
    return int(asked) if asked.isdigit() and int(asked) in PAGE_SIZES else default


@dataclass(frozen=True)
class CappedCount:
    """How many rows a list has, up to `cap`; `capped`: more than that."""

    count: int
    capped: bool

    @property
    def label(self) -> str:
        """The count as a page shows it: "1,000+" when capped."""
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"


def capped_count(rows, cap: int | None = None) -> CappedCount:
    """Count `rows` (a queryset or a sequence), reading at most `cap` + 1 of them."""
    cap = COUNT_CAP if cap is None else cap
    # A sliced queryset counts as COUNT(*) over a LIMIT subquery; a list just has a length.
    seen = _bare(rows)[: cap + 1].count() if hasattr(rows, "query") else len(rows[: cap + 1])
    return CappedCount(count=min(seen, cap), capped=seen > cap)


def _bare(rows):
    """The rows to count: no order, and of each row its key alone. The LIMIT subquery keeps
    the columns selected, and an annotation among them runs for each row counted: the ledger's
    two subqueries for its latest event made its capped count 4 ms instead of 1.7. A DISTINCT
    or a values() list counts the values it selects, so it is counted as it is."""
    rows = rows.order_by()
    query = rows.query
    if query.distinct or query.values_select or query.combinator:
        return rows
    return rows.values("pk")


class CappedPage(Page):
    """A page of a capped list: it knows whether a next page exists from one extra row read
    with it, not from a total."""

    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more

    def end_index(self) -> int:
        return self.start_index() + len(self) - 1 if len(self) else 0


class CappedPaginator(Paginator):
    """Django's paginator with a capped count.

    Up to the cap it is Django's paginator (exact count, numbered pages). Past it, `count` is the
    cap and `count_capped` is true: a page is found by its number alone, and has a next page when
    one row more than the page was read. Only `num_pages` (asked for `?page=last` or a page past
    the end) counts every row, exactly, and only when it is asked.
    """

    def __init__(
        self,
        object_list,
        per_page,
        *,
        cap: int | None = None,
        known: int | None = None,
        at_least: int | None = None,
        sizes: tuple[int, ...] = (),
        **kwargs,
    ):
        """What the caller has already counted (a search's probe, requests_app.search.Matches):
        `known`, the exact number of rows; `at_least`, a number there are at least. The count
        then asks the database nothing, if `known` is given or `at_least` passes the cap.
        `sizes`: the page sizes the list offers (`chosen_page_size`), for the pager to offer."""
        super().__init__(object_list, per_page, **kwargs)
        self.sizes = sizes
        self.cap = cap
        self.known = known
        self.at_least = at_least

    @cached_property
    def capped(self) -> CappedCount:
        cap = COUNT_CAP if self.cap is None else self.cap
        if self.known is not None:
            return CappedCount(count=min(self.known, cap), capped=self.known > cap)
        if self.at_least is not None and self.at_least > cap:
            return CappedCount(count=cap, capped=True)
        return capped_count(self.object_list, cap)

    @cached_property
    def count(self) -> int:
        return self.capped.count

    @property
    def count_capped(self) -> bool:
        return self.capped.capped

    @property
    def count_label(self) -> str:
        return self.capped.label

    @cached_property
    def num_pages(self) -> int:
        if not self.count_capped:
            return super().num_pages
        # The one exact count, asked only by a jump to the end.
        exact = super().count if self.known is None else self.known
        return math.ceil(max(1, exact - self.orphans) / self.per_page)

    def validate_number(self, number) -> int:
        if not self.count_capped:
            return super().validate_number(number)
        # Django's checks, without the upper bound that would need the total.
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def page(self, number) -> Page:
        if not self.count_capped:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise EmptyPage(self.error_messages["no_results"])
        return CappedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)

    def get_page(self, number) -> Page:
        if not self.count_capped:
            return super().get_page(number)
        # As Django's get_page: not a number is the first page, out of range the last.
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)


def sized_paginator(rows, params, default: int = PAGE_SIZES[0]) -> CappedPaginator:
    """The paginator of a list whose reader picks its page size (`chosen_page_size`; `default`
    when none is picked), offering the others in its pager."""
    return CappedPaginator(rows, chosen_page_size(params, default), sizes=PAGE_SIZES)
