"""API shapes of confidential reports and accountability cases; the pages validate with them too."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from compliance import receipts
from compliance.models import (
    AccountabilityCase,
    CaseDecision,
    CaseNote,
    ConfidentialReport,
    Measure,
    Outcome,
    ReportAddition,
    ReportEvidence,
    ReportKind,
    ReportStatus,
)
from core.serializers import ModelSerializer, Serializer, StrictBooleanField, StrictCharField
from inspection.selectors import additions_for_reporter
from inspection.services import DISTINCTIONS, decision_errors
from officials.models import Department, Enterprise, Role, User
from officials.serializers import RefSerializer

TEXT_MAX = 10000


# --- confidential reports ------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class _IdField(serializers.PrimaryKeyRelatedField):
    """An id of any row of the model: reports may name any enterprise or department."""


class ReportInput(Serializer):
    kind = serializers.ChoiceField(choices=ReportKind.choices)
    text = StrictCharField(max_length=TEXT_MAX)
    enterprise = _IdField(queryset=Enterprise.objects.all(), required=False, allow_null=True)
    official_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    department = _IdField(queryset=Department.objects.all(), required=False, allow_null=True)
    anonymous = StrictBooleanField()
    # Proof of work (inspection/throttling.py): optional; without it the strict global rate
    # applies. Checked by the throttle, not stored.
    stamp = StrictCharField(max_length=100, required=False, allow_blank=True)


class ChallengeSerializer(Serializer):
    challenge = StrictCharField()
    bits = serializers.IntegerField()
    expires_in = serializers.IntegerField()


class ReceiptSerializer(Serializer):
    receipt = StrictCharField()


class ReporterEvidenceSerializer(Serializer):
    """A file as its sender sees it again: its kind and size (the file is the inspectors')."""

    content_type = StrictCharField()
    size = serializers.IntegerField()


class ReporterAdditionSerializer(Serializer):
    id = serializers.IntegerField()
    text = StrictCharField()
    created_at = serializers.DateTimeField()
    evidence = ReporterEvidenceSerializer(many=True)


class ReportStatusSerializer(Serializer):
    status = StrictCharField()
    updated_at = serializers.DateTimeField()
    # What the reporter added through the receipt, oldest first.
    additions = serializers.SerializerMethodField()

    def get_additions(self, obj) -> list[dict]:
        return ReporterAdditionSerializer(additions_for_reporter(obj), many=True).data


class AdditionInput(Serializer):
    """More information on a report, through its receipt (in the body: never in a URL)."""

    receipt = StrictCharField(max_length=receipts.MAX_INPUT)
    # Required here (what the files are, or what is new); the page also takes files alone.
    text = StrictCharField(max_length=TEXT_MAX)
    stamp = StrictCharField(max_length=100, required=False, allow_blank=True)


class AdditionUploadInput(AdditionInput):
    """The same as multipart, with evidence `files` (judged as request attachments are)."""

    files = serializers.ListField(child=serializers.FileField(), required=False)


class EvidenceSerializer(ModelSerializer):
    """A report's file as the inspectors see it: a neutral name, never the sender's."""

    name = serializers.CharField(source="download_name", read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = ReportEvidence
        fields = ["id", "name", "content_type", "size", "sha256", "added_at", "download"]
        read_only_fields = fields

    def get_download(self, obj) -> str:
        return reverse("confidential-report-evidence", args=[obj.report_id, obj.pk])


class AdditionSerializer(ModelSerializer):
    evidence = EvidenceSerializer(many=True, read_only=True)

    class Meta:
        model = ReportAddition
        fields = ["id", "text", "created_at", "evidence"]
        read_only_fields = fields


class ReportSerializer(ModelSerializer):
    """A report as its region's inspectors read it. The reporter is shown by name only when the
    report is not anonymous (and an anonymous report has none stored)."""

    enterprise = RefSerializer(read_only=True, allow_null=True)
    department = RefSerializer(read_only=True, allow_null=True)
    reporter = RefSerializer(read_only=True, allow_null=True)
    cases = serializers.SerializerMethodField()
    evidence = serializers.SerializerMethodField()
    additions = AdditionSerializer(many=True, read_only=True)

    class Meta:
        model = ConfidentialReport
        fields = [
            "id",
            "kind",
            "text",
            "enterprise",
            "official_name",
            "department",
            "anonymous",
            "reporter",
            "region",
            "status",
            "created_at",
            "updated_at",
            "cases",
            "evidence",
            "additions",
        ]
        read_only_fields = fields

    def get_cases(self, obj) -> list[int]:
        return [case.pk for case in obj.cases.all()]

    @extend_schema_field(EvidenceSerializer(many=True))
    def get_evidence(self, obj) -> list[dict]:
        """The files sent with the report itself (an addition's are under `additions`)."""
        filed = [item for item in obj.evidence.all() if item.addition_id is None]
        return EvidenceSerializer(filed, many=True).data


class ReportMoveInput(Serializer):
    status = serializers.ChoiceField(choices=ReportStatus.choices)


@extend_schema_field(OpenApiTypes.INT)
class _OfficialField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return User.objects.filter(role__in=[Role.LIAISON, Role.HANDLER, Role.LEADER])


class OpenCaseInput(Serializer):
    official = _OfficialField(required=False, allow_null=True)
    department = _IdField(queryset=Department.objects.all(), required=False, allow_null=True)


# --- cases ---------------------------------------------------------------------------------------


class NoteSerializer(ModelSerializer):
    author = RefSerializer(read_only=True)

    class Meta:
        model = CaseNote
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = fields


class DecisionSerializer(ModelSerializer):
    decided_by = RefSerializer(read_only=True)

    class Meta:
        model = CaseDecision
        fields = [
            "id",
            "outcome",
            "measure",
            "reasoning",
            *DISTINCTIONS,
            "corrects",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = fields


class RequestRefSerializer(Serializer):
    id = serializers.IntegerField()
    reference = StrictCharField()


class CaseSerializer(ModelSerializer):
    request = RequestRefSerializer(read_only=True, allow_null=True)
    department = RefSerializer(read_only=True, allow_null=True)
    official = RefSerializer(read_only=True, allow_null=True)
    inspector = RefSerializer(read_only=True, allow_null=True)
    # `cause` as stored when the case was opened; this, in the language of the call.
    cause_text = serializers.CharField(read_only=True)

    class Meta:
        model = AccountabilityCase
        fields = [
            "id",
            "source",
            "status",
            "request",
            "department",
            "official",
            "region",
            "cause",
            "cause_text",
            "rule",
            "breach_at",
            "opened_at",
            "finding",
            "report",
            "inspector",
            "taken_at",
            "decided_at",
        ]
        read_only_fields = fields


class CaseDetailSerializer(CaseSerializer):
    notes = NoteSerializer(many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "notes", "decisions"]
        read_only_fields = fields


class NoteInput(Serializer):
    text = StrictCharField(max_length=TEXT_MAX)


class DecisionInput(Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    measure = serializers.ChoiceField(choices=Measure.choices, required=False, allow_blank=True)
    reasoning = StrictCharField(max_length=TEXT_MAX)
    distinction_reform = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)
    distinction_trial = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)
    distinction_development = StrictCharField(max_length=TEXT_MAX, required=False, allow_blank=True)

    def validate(self, attrs):
        errors = decision_errors(
            outcome=attrs["outcome"],
            measure=attrs.get("measure", ""),
            reasoning=attrs["reasoning"],
            distinctions={name: attrs.get(name, "") for name in DISTINCTIONS},
        )
        if errors:
            raise serializers.ValidationError(errors)
        return {
            "outcome": attrs["outcome"],
            "measure": attrs.get("measure", ""),
            "reasoning": attrs["reasoning"],
            **{name: attrs.get(name, "") for name in DISTINCTIONS},
        }
