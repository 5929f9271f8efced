"""What every API endpoint shares: parsing and pagination (no app imports: DRF loads it early)."""

import json

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.pagination import PageNumberPagination


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
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        # DRF reads only the last `page`, and reads an empty one as the first: `?page=junk&page=`
        # would be page 1. Every value given must name a page, as the schema's integer says.
        for value in request.query_params.getlist(self.page_query_param):
            if not value.isdigit() and value not in self.last_page_strings:
                raise NotFound(_("Invalid page."))
        return super().get_page_number(request, paginator)
