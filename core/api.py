"""What every API endpoint shares: parsing and pagination (no app imports: DRF loads it early)."""

import json

from django.core.paginator import InvalidPage
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from core.pagination import COUNT_CAP, CappedPaginator


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing text that no database can store.

    JSON may spell an unpaired UTF-16 surrogate ("\\ud800"); Python decodes it into a string
    that cannot be encoded as UTF-8, and the first query or hash using it would fail with a 500.
    (NUL, which PostgreSQL refuses in text, is refused by the fields that read it:
    core/serializers.py.)
    """

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(_("JSON parse error - the text has an unpaired surrogate.")) from None
        return data


class Pagination(PageNumberPagination):
    """Numbered pages with a capped count (core/pagination.py).

    API.md promises every list `count`, `next`, `previous` and `results`, and says no more of
    `count` than its name. Past the cap `count` is the cap (1000) and the added
    `count_capped` is true: there are more. `next` is there while a next page is, so a
    client that follows `next` still reads every row; `?page=n` still names any page.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200
    count_cap: int | None = None  # None: core.pagination.COUNT_CAP

    def paginate_queryset(self, queryset, request, view=None):
        # DRF's, but the browsable API's numbered links (which need the total) only below the
        # cap: DRF asks every list for its number of pages, an exact count.
        self.request = request
        page_size = self.get_page_size(request)
        if not page_size:
            return None
        paginator = self.capped = CappedPaginator(queryset, page_size, cap=self.count_cap)
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage:
            raise NotFound(self.invalid_page_message) from None
        self.display_page_controls = not paginator.count_capped and paginator.num_pages > 1
        return list(self.page)

    def get_paginated_response(self, data):
        paginator = self.capped
        return Response(
            {
                "count": paginator.count,
                "count_capped": paginator.count_capped,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count"]["description"] = (
            f"How many results there are, counted up to {COUNT_CAP}; when `count_capped` is true "
            "there are more than `count`."
        )
        answer["properties"]["count_capped"] = {
            "type": "boolean",
            "description": "True when there are more results than `count` says.",
        }
        answer["required"] = [*answer["required"], "count_capped"]
        return answer

    def get_page_number(self, request, paginator):
        # DRF reads only the last `page`, and reads an empty one as the first: `?page=junk&page=`
        # would be page 1. Every value given must name a page, as the schema's integer says.
        for value in request.query_params.getlist(self.page_query_param):
            if not value.isdigit() and value not in self.last_page_strings:
                raise NotFound(_("Invalid page."))
        return super().get_page_number(request, paginator)
