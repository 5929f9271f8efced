"""API shapes of compliance: the lists, officials' records with their findings, visit filings.

One input serializer per record kind, shared by the API and the pages (one set of rules about
what a record accepts); who may keep it and for which enterprise is the services' to decide.
"""

import datetime as dt

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compliance import rules
from compliance.models import (
    AssetKind,
    AssetUse,
    Declaration,
    ExemptReason,
    Finding,
    Gift,
    GiftDirection,
    GiftKind,
    Interaction,
    InteractionKind,
    Payer,
    Relation,
    VisitFiling,
    VisitPurpose,
)
from core.serializers import ModelSerializer, Serializer, StrictBooleanField, StrictCharField
from officials.models import Enterprise
from officials.serializers import RefSerializer

TEXT_MAX = 5000
# Clocks drift: a record "from the future" by a few minutes is a phone's clock, not a lie.
CLOCK_SKEW = dt.timedelta(minutes=5)


def _is_english(language: str | None) -> bool:
    return (language or "").startswith("en")


# --- the lists -----------------------------------------------------------------------------------


class AliasSerializer(Serializer):
    """Where the item stands in a locality's named list ("八个不准" no. 3)."""

    name = StrictCharField()
    locality = StrictCharField()
    position = serializers.IntegerField()


class RuleSerializer(Serializer):
    """An active item with its newest wording; `category` and `text` in the reader's language."""

    code = StrictCharField()
    list = StrictCharField()
    party = StrictCharField()
    category = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()
    category_zh = serializers.SerializerMethodField()
    category_en = serializers.SerializerMethodField()
    text_zh = serializers.SerializerMethodField()
    text_en = serializers.SerializerMethodField()
    aliases = serializers.SerializerMethodField()

    def _version(self, obj):
        return self.context["versions"].get(obj.code)

    def _pick(self, obj, name: str) -> str:
        version = self._version(obj)
        if version is None:
            return ""
        english = _is_english(translation.get_language())
        return getattr(version, f"{name}_en" if english else f"{name}_zh")

    def get_category(self, obj) -> str:
        return self._pick(obj, "category")

    def get_text(self, obj) -> str:
        return self._pick(obj, "text")

    def get_version(self, obj) -> int | None:
        version = self._version(obj)
        return version.number if version else None

    def get_category_zh(self, obj) -> str:
        return getattr(self._version(obj), "category_zh", "")

    def get_category_en(self, obj) -> str:
        return getattr(self._version(obj), "category_en", "")

    def get_text_zh(self, obj) -> str:
        return getattr(self._version(obj), "text_zh", "")

    def get_text_en(self, obj) -> str:
        return getattr(self._version(obj), "text_en", "")

    @extend_schema_field(AliasSerializer(many=True))
    def get_aliases(self, obj) -> list:
        return AliasSerializer(obj.aliases.all(), many=True).data


# --- findings ------------------------------------------------------------------------------------


class FindingSerializer(ModelSerializer):
    """A finding as the API shows it: `message` in the active (the caller's) language."""

    rule = StrictCharField(source="rule_code")
    list = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = ["id", "rule", "list", "severity", "message", "version", "created_at"]
        read_only_fields = fields

    def get_list(self, obj) -> str:
        if obj.rule_version_id:
            return obj.rule_version.rule.list
        return "positive" if obj.rule_code.startswith("P") else "negative"

    def get_message(self, obj) -> str:
        return rules.render(obj.message_id, obj.params) if obj.message_id else obj.message

    def get_version(self, obj) -> int | None:
        return obj.rule_version.number if obj.rule_version_id else None


class _RecordSerializer(ModelSerializer):
    enterprise = RefSerializer(read_only=True)
    official = RefSerializer(read_only=True)
    findings = serializers.SerializerMethodField()

    COMMON = ["id", "enterprise", "official", "region", "created_at", "findings"]

    @extend_schema_field(FindingSerializer(many=True))
    def get_findings(self, obj) -> list:
        return FindingSerializer(obj.findings.all(), many=True).data


class InteractionSerializer(_RecordSerializer):
    class Meta:
        model = Interaction
        fields = _RecordSerializer.COMMON + [
            "kind",
            "occurred_at",
            "description",
            "public",
            "approval_ref",
            "payer",
            "amount_total",
            "headcount",
            "alcohol",
            "venue_type",
            "visit_filing",
        ]
        read_only_fields = fields


class GiftSerializer(_RecordSerializer):
    class Meta:
        model = Gift
        fields = _RecordSerializer.COMMON + [
            "direction",
            "kind",
            "value_cny",
            "received_at",
            "refused",
            "registered_at",
            "surrendered_at",
        ]
        read_only_fields = fields


class AssetUseSerializer(_RecordSerializer):
    class Meta:
        model = AssetUse
        fields = _RecordSerializer.COMMON + [
            "asset",
            "dedicated",
            "start",
            "end",
            "returned",
            "interaction",
        ]
        read_only_fields = fields


class DeclarationSerializer(_RecordSerializer):
    class Meta:
        model = Declaration
        fields = _RecordSerializer.COMMON + [
            "relation",
            "remunerated",
            "approved",
            "note",
            "ended_at",
        ]
        read_only_fields = fields


class VisitFilingSerializer(ModelSerializer):
    enterprise = RefSerializer(read_only=True)
    official = RefSerializer(read_only=True)
    department = RefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = VisitFiling
        fields = [
            "id",
            "enterprise",
            "official",
            "department",
            "region",
            "planned_start",
            "planned_end",
            "purpose",
            "urgent",
            "reason",
            "exemption",
            "note",
            "cancelled_at",
            "created_at",
        ]
        read_only_fields = fields


# --- input ---------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class EnterpriseField(serializers.PrimaryKeyRelatedField):
    """Any enterprise by id; whether it is within the official's jurisdiction is the service's
    question, so the answer can say so instead of "does not exist"."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Enterprise.objects.all(), **kwargs)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


def _not_future(value: dt.datetime | None, message: str) -> dt.datetime | None:
    value = _aware(value)
    if value is not None and value > timezone.now() + CLOCK_SKEW:
        raise serializers.ValidationError(message)
    return value


def _money(**kwargs):
    return serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, max_value=10**9, **kwargs
    )


def _text(max_length=TEXT_MAX):
    return StrictCharField(max_length=max_length, required=False, allow_blank=True, default="")


class InteractionInput(Serializer):
    enterprise = EnterpriseField()
    kind = serializers.ChoiceField(choices=InteractionKind.choices)
    occurred_at = serializers.DateTimeField()
    description = _text()
    public = StrictBooleanField(required=False, default=False)
    approval_ref = _text(100)
    payer = serializers.ChoiceField(
        choices=Payer.choices, required=False, allow_blank=True, default=""
    )
    amount_total = _money(required=False, allow_null=True, default=None)
    headcount = serializers.IntegerField(
        min_value=1, max_value=10000, required=False, allow_null=True, default=None
    )
    alcohol = StrictBooleanField(required=False, default=False)
    venue_type = _text(50)

    def validate_occurred_at(self, value):
        return _not_future(value, _("An interaction is logged after it happens."))


class GiftInput(Serializer):
    enterprise = EnterpriseField()
    direction = serializers.ChoiceField(choices=GiftDirection.choices)
    kind = serializers.ChoiceField(choices=GiftKind.choices)
    value_cny = _money()
    received_at = serializers.DateTimeField()
    refused = StrictBooleanField(required=False, default=False)
    registered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    surrendered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_received_at(self, value):
        return _not_future(value, _("A gift is recorded once it has been received or given."))

    def validate_registered_at(self, value):
        return _not_future(value, _("The registration date cannot be in the future."))

    def validate_surrendered_at(self, value):
        return _not_future(value, _("The surrender date cannot be in the future."))

    def validate(self, attrs):
        received = attrs["received_at"]
        for name in ("registered_at", "surrendered_at"):
            if attrs.get(name) is not None and attrs[name] < received:
                raise serializers.ValidationError(
                    {name: [_("This cannot be before the gift was received.")]}
                )
        return attrs


class GiftOutcomeInput(Serializer):
    """When a gift already recorded was registered or surrendered (either or both, once each);
    whether it may still be set, and not before the gift was received, is the service's call."""

    registered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    surrendered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_registered_at(self, value):
        return _not_future(value, _("The registration date cannot be in the future."))

    def validate_surrendered_at(self, value):
        return _not_future(value, _("The surrender date cannot be in the future."))

    def validate(self, attrs):
        if attrs.get("registered_at") is None and attrs.get("surrendered_at") is None:
            raise serializers.ValidationError(_("Give the registration or the surrender time."))
        return attrs


class AssetUseInput(Serializer):
    enterprise = EnterpriseField()
    asset = serializers.ChoiceField(choices=AssetKind.choices)
    dedicated = StrictBooleanField(required=False, default=False)
    start = serializers.DateField()
    end = serializers.DateField(required=False, allow_null=True, default=None)
    returned = StrictBooleanField(required=False, default=False)
    interaction = serializers.PrimaryKeyRelatedField(
        queryset=Interaction.objects.all(), required=False, allow_null=True, default=None
    )

    def validate_start(self, value):
        if value > timezone.localdate():
            raise serializers.ValidationError(_("Record a use once it has begun."))
        return value

    def validate(self, attrs):
        if attrs.get("end") is not None and attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": [_("The end cannot be before the start.")]})
        return attrs


class DeclarationInput(Serializer):
    enterprise = EnterpriseField()
    relation = serializers.ChoiceField(choices=Relation.choices)
    remunerated = StrictBooleanField(required=False, default=False)
    approved = StrictBooleanField(required=False, default=False)
    note = _text()


class VisitFilingInput(Serializer):
    enterprise = EnterpriseField()
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField()
    purpose = serializers.ChoiceField(choices=VisitPurpose.choices)
    urgent = StrictBooleanField(required=False, default=False)
    reason = serializers.ChoiceField(
        choices=ExemptReason.choices, required=False, allow_blank=True, default=""
    )
    note = _text()

    def validate_planned_start(self, value):
        return _aware(value)

    def validate_planned_end(self, value):
        return _aware(value)
