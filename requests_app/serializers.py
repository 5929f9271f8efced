"""API shapes of service requests: one output shape, and one input serializer per action.

The page views validate their forms with the same input serializers, so a rule about what an
action accepts lives in exactly one place.
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import ModelSerializer, Serializer, StrictBooleanField, StrictCharField
from officials.models import Category, Department, Role, User
from officials.selectors import enterprises_visible_to
from officials.serializers import RefSerializer
from requests_app.changes import CONTACT_NAME_MAX, FOLLOW_UP_CHANNELS
from requests_app.models import Attachment, RequestEvent, ServiceRequest, Source
from requests_app.workflow import allowed_actions

TEXT_MAX = 10000


class AttachmentSerializer(ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "original_name", "content_type", "size", "sha256", "uploaded_at", "url"]

    def get_url(self, obj) -> str:
        from django.urls import reverse

        return reverse("requests:attachment", args=[obj.request_id, obj.pk])


class ServiceRequestSerializer(ModelSerializer):
    enterprise = RefSerializer(read_only=True)
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)
    department = RefSerializer(read_only=True, allow_null=True)
    handler = RefSerializer(read_only=True, allow_null=True)
    liaison = RefSerializer(read_only=True, allow_null=True)
    overdue = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    attachments = AttachmentSerializer(many=True, read_only=True, source="attachment_list")

    class Meta:
        model = ServiceRequest
        fields = [
            "id",
            "reference",
            "status",
            "enterprise",
            "category",
            "title",
            "description",
            "source",
            "submitted_at",
            "assign_due_at",
            "answer_due_at",
            "assigned_at",
            "answered_at",
            "closed_at",
            "department",
            "handler",
            "liaison",
            "overdue",
            "reopen_count",
            "rating",
            "allowed_actions",
            "transfer_count",
            "extension_state",
            "extension_until",
            "extension_plan",
            "merged_into",
            "attachments",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return obj.is_overdue(self.context.get("now"))

    def get_allowed_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        return allowed_actions(obj, request.user) if request else []


class RequestEventSerializer(ModelSerializer):
    actor = RefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = RequestEvent
        fields = [
            "id",
            "action",
            "actor",
            "from_status",
            "to_status",
            "note",
            "created_at",
            "hash",
            "seq",
            "prev_hash",
            "data",
        ]
        read_only_fields = fields


class EligibleHandlerSerializer(Serializer):
    """A handler who may take a request: no declared tie to its enterprise."""

    id = serializers.IntegerField()
    name = StrictCharField(source="display_name")
    department = RefSerializer(allow_null=True)


class EligibleHandlersQuery(Serializer):
    department = serializers.PrimaryKeyRelatedField(
        queryset=Department.objects.all(), required=False
    )


class CheckpointCheckSerializer(Serializer):
    at = serializers.DateTimeField()
    ok = StrictBooleanField()


class VerifySerializer(Serializer):
    ok = StrictBooleanField()
    events = serializers.IntegerField()
    first_bad_event = serializers.IntegerField(allow_null=True)
    state_matches = StrictBooleanField()
    checkpoint = CheckpointCheckSerializer(allow_null=True)


# --- input ---------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class _ScopedEnterpriseField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return enterprises_visible_to(self.context["request"].user)


class RequestCreateInput(Serializer):
    enterprise = _ScopedEnterpriseField(required=False)
    category = serializers.SlugRelatedField(slug_field="code", queryset=Category.objects.all())
    title = StrictCharField(max_length=200)
    description = StrictCharField(max_length=TEXT_MAX)
    source = serializers.ChoiceField(choices=Source.choices, required=False)

    def validate(self, attrs):
        user = self.context["request"].user
        if "enterprise" not in attrs:
            own = list(enterprises_visible_to(user)[:2]) if user.role == Role.ENTREPRENEUR else []
            if user.role == Role.ENTREPRENEUR and not own:
                raise serializers.ValidationError(
                    {"enterprise": [_("You act for no enterprise yet: register yours first.")]}
                )
            if len(own) != 1:
                raise serializers.ValidationError(
                    {"enterprise": [serializers.Field.default_error_messages["required"]]}
                )
            attrs["enterprise"] = own[0]
        attrs.setdefault("source", Source.WEB)
        return attrs


class AttachmentInput(Serializer):
    file = serializers.FileField(allow_empty_file=False, max_length=255)


def _text(max_length=2000, **kwargs):
    return StrictCharField(max_length=max_length, **kwargs)


def _optional_text(max_length=2000):
    return StrictCharField(max_length=max_length, required=False, allow_blank=True, default="")


class AssignInput(Serializer):
    department = serializers.PrimaryKeyRelatedField(queryset=Department.objects.all())
    handler = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(role=Role.HANDLER), required=False, allow_null=True
    )
    note = _optional_text()


class RejectInput(Serializer):
    reason = _text()


@extend_schema_field(OpenApiTypes.INT)
class _VisibleRequestField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        from requests_app.selectors import requests_visible_to

        return requests_visible_to(self.context["request"].user)


class MergeInput(Serializer):
    into = _VisibleRequestField()
    note = _optional_text()


class EmptyInput(Serializer):
    pass


class TransferInput(Serializer):
    department = serializers.PrimaryKeyRelatedField(queryset=Department.objects.all())
    reason = _text()


class RequestInfoInput(Serializer):
    question = _text(TEXT_MAX)


class ProvideInfoInput(Serializer):
    answer = _text(TEXT_MAX)


class FeedbackInput(Serializer):
    message = _text(TEXT_MAX)


class ExtendInput(Serializer):
    until = serializers.DateTimeField()
    plan = _text(TEXT_MAX)

    def validate_until(self, value):
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return value


class ApproveExtensionInput(Serializer):
    note = _optional_text()


class RefuseExtensionInput(Serializer):
    reason = _text()


def _aware(value):
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class FollowUpInput(Serializer):
    """The follow-up call (回访) a liaison's review records; the workflow judges the rest (not
    in the future, who must send it)."""

    channel = serializers.ChoiceField(choices=list(FOLLOW_UP_CHANNELS.items()))
    contacted_at = serializers.DateTimeField()
    contact_name = _text(CONTACT_NAME_MAX)
    note = _text(TEXT_MAX)

    def validate_contacted_at(self, value):
        return _aware(value)


class ReviewInput(Serializer):
    # The call first, as the liaison's form asks it: what was said comes before the verdict.
    follow_up = FollowUpInput(required=False)
    accepted = StrictBooleanField()
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    comment = _optional_text(TEXT_MAX)


class DisputeInput(Serializer):
    reason = _text(TEXT_MAX)


class WithdrawInput(Serializer):
    reason = _optional_text()


class CommentInput(Serializer):
    text = _text(TEXT_MAX)


ACTION_INPUTS: dict[str, type[serializers.Serializer]] = {
    "assign": AssignInput,
    "reject": RejectInput,
    "merge": MergeInput,
    "start": EmptyInput,
    "transfer": TransferInput,
    "request_info": RequestInfoInput,
    "provide_info": ProvideInfoInput,
    "feedback": FeedbackInput,
    "extend": ExtendInput,
    "approve_extension": ApproveExtensionInput,
    "refuse_extension": RefuseExtensionInput,
    "review": ReviewInput,
    "dispute": DisputeInput,
    "withdraw": WithdrawInput,
    "comment": CommentInput,
}


# --- the working-day calendar -------------------------------------------------------------------


class CalendarDaySerializer(Serializer):
    date = serializers.DateField()
    working = StrictBooleanField()
    name = StrictCharField(max_length=100, required=False, allow_blank=True, default="")


class CalendarYearSerializer(Serializer):
    year = serializers.IntegerField()
    official = StrictBooleanField()
    days = CalendarDaySerializer(many=True)


class CalendarLoadedSerializer(CalendarYearSerializer):
    rebased = serializers.IntegerField()


class CalendarInput(Serializer):
    """A year's exceptions: the days themselves, or the State Council's notice as pasted."""

    days = CalendarDaySerializer(many=True, required=False)
    notice = StrictCharField(required=False, trim_whitespace=False, max_length=TEXT_MAX)

    def validate(self, attrs):
        if ("days" in attrs) == ("notice" in attrs):
            raise serializers.ValidationError(_("Send either the days or the notice."))
        return attrs
