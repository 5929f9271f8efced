"""API shapes of the user's own things: their profile and preferences (/me/), and their inbox."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import Serializer, StrictBooleanField, StrictCharField
from notifications import inbox
from notifications.models import Kind, Notification
from notifications.preferences import FIELDS

# The largest id the database holds: a bigger one is a 400, not an overflow.
MAX_ID = 2**63 - 1
# Ids one call may mark read: a client marks what it showed, "all" needs no list.
MAX_IDS = 1000


class FlagsSerializer(Serializer):
    """One kind's channels: the inbox, an e-mail at once, the daily digest."""

    inbox = StrictBooleanField(required=False)
    email = StrictBooleanField(required=False)
    digest = StrictBooleanField(required=False)


_FLAGS_SCHEMA = {
    "type": "object",
    "properties": {name: {"type": "boolean"} for name in FIELDS},
    "additionalProperties": False,
}


@extend_schema_field(
    {
        "type": "object",
        "properties": {kind: _FLAGS_SCHEMA for kind in Kind.values},
        "additionalProperties": False,
    }
)
class NotifyField(serializers.Field):
    """`{"<kind>": {"inbox", "email", "digest"}}`: every kind when read; when written, only the
    kinds and flags to change."""

    default_error_messages = {
        "not_an_object": _("Expected an object of kinds."),
        "unknown_kind": _("“%(kind)s” is not a kind of message."),
    }

    def to_representation(self, value):
        return {kind: flags.as_dict() for kind, flags in value.items()}

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_an_object")
        changes, errors = {}, {}
        for kind, flags in data.items():
            if kind not in Kind.values:
                errors[kind] = [self.error_messages["unknown_kind"] % {"kind": kind}]
                continue
            if not isinstance(flags, dict):
                errors[kind] = [str(_("Expected an object with inbox, email and digest."))]
                continue
            unknown = set(flags) - set(FIELDS)
            if unknown:
                errors[kind] = [
                    str(_("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
                ]
                continue
            one = FlagsSerializer(data=flags)
            if not one.is_valid():
                errors[kind] = one.errors
                continue
            changes[kind] = dict(one.validated_data)
        if errors:
            raise serializers.ValidationError(errors)
        return changes


class MeSerializer(Serializer):
    """`GET /api/v1/me/`: who the caller is, their language and their message preferences."""

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    role = serializers.CharField(read_only=True)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, read_only=True)
    email = serializers.CharField(read_only=True)  # blank when the user has no address
    notify = NotifyField(read_only=True)


class MeInput(Serializer):
    """`PATCH /api/v1/me/`: any of name, language, e-mail address and preferences."""

    name = StrictCharField(max_length=100, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    notify = NotifyField(required=False)


class NotificationSerializer(serializers.ModelSerializer):
    """One inbox message: `text` is its body; `request` the id of the request it is about."""

    text = serializers.CharField(source="body", read_only=True)
    request = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "subject", "text", "link", "request", "created_at", "read_at"]
        read_only_fields = fields

    def get_request(self, obj) -> int | None:
        return inbox.request_id_of(obj)


class ReadInput(Serializer):
    """`POST /api/v1/inbox/read/`: the ids to mark read; every unread message when left out."""

    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        max_length=MAX_IDS,
    )
