"""What every API endpoint shares: parsing and pagination (no app imports: DRF loads it early)."""

import json

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.pagination import PageNumberPagination


def _strings(data):
    """Every string in parsed JSON, keys included."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield key
            yield from _strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from _strings(item)


def _refuse_nul(fields) -> None:
    """PostgreSQL text cannot hold NUL; a lookup by such a value (a slug, a code) would fail
    with a 500 in the database instead of a 400 here. `fields` are (name, value) pairs; the
    error names the fields, as a serializer would. Files may hold any bytes: not checked."""
    bad = {
        name if "\x00" not in name else "detail"
        for name, value in fields
        if "\x00" in name or any("\x00" in text for text in _strings(value))
    }
    if bad:
        raise ValidationError({name: [_("Null characters are not allowed.")] for name in bad})


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing text that no database can store.

    JSON may spell an unpaired UTF-16 surrogate ("\\ud800"); Python decodes it into a string
    that cannot be encoded as UTF-8, and the first query or hash using it would fail with a 500.
    The same goes for NUL ("\\u0000"), which PostgreSQL refuses in text.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError(_("JSON parse error - the text has an unpaired surrogate.")) from None
        _refuse_nul(data.items() if isinstance(data, dict) else [("detail", data)])
        return data


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing NUL in any field (see `_refuse_nul`)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _refuse_nul(data.lists())
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing NUL in the fields (not in the files' bytes)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _refuse_nul(parsed.data.lists())
        _refuse_nul(
            (name, [upload.name for upload in uploads]) for name, uploads in parsed.files.lists()
        )
        return parsed


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request, paginator):
        # DRF reads only the last `page`: `?page=junk&page=` would be page 1. Every value given
        # must name a page (an empty one means the first).
        for value in request.query_params.getlist(self.page_query_param):
            if value and not value.isdigit() and value not in self.last_page_strings:
                raise NotFound(_("Invalid page."))
        return super().get_page_number(request, paginator)
