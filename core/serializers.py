"""Serializer parts every app shares: the API's input rules that DRF leaves loose."""

import datetime as dt
from collections.abc import Mapping
from functools import cached_property

from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import ISO_8601, serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, UploadedFile):
        return "\x00" in (value.name or "")
    if isinstance(value, Mapping):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


class StrictInput(serializers.Serializer):
    """What every input serializer refuses before its fields read the data.

    - A NUL in any field it reads, as a 400 on that field. PostgreSQL refuses NUL in text: a
      lookup by such a value (a category code, a user name that must be unique) would fail in
      the database with a 500, before the field's own NUL check runs. Fields the serializer
      does not read are ignored, NUL or not, as any unknown field is.
    - An object where a list is due: DRF iterates `{}` as an empty list of categories.
    """

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            errors = {}
            for name, field in self.fields.items():
                value = empty if field.read_only else field.get_value(data)
                if value is empty:
                    continue
                if _has_nul(value):
                    errors[name] = [_("Null characters are not allowed.")]
                elif isinstance(field, _LISTS) and isinstance(value, Mapping):
                    errors[name] = [_("Expected a list of items.")]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


_LISTS = (serializers.ListField, serializers.ManyRelatedField, serializers.MultipleChoiceField)


class StrictCharField(serializers.CharField):
    """Text, and only text.

    DRF's CharField takes a JSON number or boolean and stores it as text (`{"text": 0}` becomes
    "0"); the schema says a string, so anything else is a 400 for that field. The schema's
    maxLength counts the text as sent, so a text longer than that is refused before DRF trims
    its surrounding whitespace (and control characters, which Python counts as whitespace).
    """

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, as JSON spells them.

    DRF's BooleanField also takes 0, 1, "yes" and "false" in a JSON body, which the schema (a
    boolean) refuses. A form body has only text, so there the usual spellings still count.
    """

    def to_internal_value(self, data):
        if not isinstance(data, bool) and not _from_a_form(self):
            self.fail("invalid", input=data)
        return super().to_internal_value(data)


def _from_a_form(field) -> bool:
    return isinstance(getattr(field.root, "initial_data", None), QueryDict)


class MomentField(serializers.DateTimeField):
    """DRF's DateTimeField, writing a moment as DRF writes it (ISO 8601 in the current time
    zone, "Z" for UTC), asking for the zone once per field and response, not once per moment:
    Django's current time zone is a context-local lookup that raises and catches inside, and
    was a tenth of an API list of 100 requests (some 400 moments). A serializer's fields are
    copied afresh for each response, so the zone is the one current while it is written.
    Input, a naive moment or another output format are DRF's own."""

    @cached_property
    def _zone(self):
        return self.timezone if hasattr(self, "timezone") else self.default_timezone()

    def to_representation(self, value):
        if (
            not isinstance(value, dt.datetime)
            or value.tzinfo is None
            or getattr(self, "format", api_settings.DATETIME_FORMAT) != ISO_8601
            or self._zone is None
        ):
            return super().to_representation(value)
        text = value.astimezone(self._zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text


class Serializer(StrictInput, serializers.Serializer):
    """DRF's Serializer, with the API's input rules (StrictInput)."""


class ModelSerializer(StrictInput, serializers.ModelSerializer):
    """DRF's ModelSerializer, with the API's input rules (StrictInput), and the model's text
    and boolean fields strict."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.BooleanField: StrictBooleanField,
        models.DateTimeField: MomentField,
    }
