"""The compliance API: thin views over the lists, officials' records and visit filings."""

from django.db.models import Prefetch
from django.utils import translation
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from compliance import services, visits
from compliance.models import AssetUse, Declaration, Finding, Gift, Interaction, ListAlias
from compliance.selectors import (
    active_rules,
    current_versions,
    filings_visible_to,
    may_keep_records,
    records_visible_to,
)
from compliance.serializers import (
    AssetUseInput,
    AssetUseSerializer,
    DeclarationInput,
    DeclarationSerializer,
    GiftInput,
    GiftOutcomeInput,
    GiftSerializer,
    InteractionInput,
    InteractionSerializer,
    RuleSerializer,
    VisitFilingInput,
    VisitFilingSerializer,
)
from core.api import Pagination
from core.serializers import StrictCharField


def callers_language(user) -> str | None:
    """The caller's own language when they chose one, else the request's."""
    return getattr(user, "language", "") or translation.get_language()


class RulePagination(Pagination):
    page_size = 100  # the whole catalogue (33 items) on one page


class RuleViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The active list items, newest wording; public like the lists page."""

    serializer_class = RuleSerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = RulePagination

    def get_queryset(self):
        return active_rules().prefetch_related(
            Prefetch("aliases", queryset=ListAlias.objects.order_by("locality", "name"))
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "versions": current_versions()}


class RecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A kind of record officials keep: list/retrieve (scoped) and create (judged at once)."""

    model = None
    input_class: type[serializers.Serializer]
    keep = None  # the service that keeps and judges the record

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not request.user.has_perm("compliance.read_records"):
            raise PermissionDenied("Only officials keep or read these records.")

    def get_queryset(self):
        findings = Finding.objects.select_related("rule_version__rule").order_by("rule_code", "id")
        return (
            records_visible_to(self.request.user, self.model)
            .select_related("enterprise", "official")
            .prefetch_related(Prefetch("findings", queryset=findings))
            .order_by("-created_at", "-id")
        )

    def list(self, request, *args, **kwargs):
        with translation.override(callers_language(request.user)):
            return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        with translation.override(callers_language(request.user)):
            return super().retrieve(request, *args, **kwargs)

    def create(self, request):
        if not may_keep_records(request.user):
            raise PermissionDenied("Only officials who serve enterprises keep these records.")
        data = self.input_class(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        judged = type(self).keep(by=request.user, **data.validated_data)
        record = self.get_queryset().get(pk=judged.record.pk)
        with translation.override(callers_language(request.user)):
            body = self.get_serializer(record).data
        return Response(body, status=status.HTTP_201_CREATED)


def _documented(viewset):
    """The create operation, documented with the viewset's own input and output.

    `extend_schema_view` gives each viewset its own copy of the inherited `create`: decorating
    `viewset.create` itself would mark the one shared function, and every kind of record would
    be documented with the last kind's input.
    """
    return extend_schema_view(
        create=extend_schema(
            request=viewset.input_class,
            responses={
                201: viewset.serializer_class,
                400: OpenApiResponse(description="Invalid input; nothing stored"),
                403: OpenApiResponse(description="Not an official who keeps records"),
            },
        )
    )(viewset)


class InteractionViewSet(RecordViewSet):
    model = Interaction
    input_class = InteractionInput
    serializer_class = InteractionSerializer
    keep = services.record_interaction


class GiftViewSet(RecordViewSet):
    model = Gift
    input_class = GiftInput
    serializer_class = GiftSerializer
    keep = services.record_gift

    @extend_schema(
        request=GiftOutcomeInput,
        responses={
            200: GiftSerializer,
            400: OpenApiResponse(
                description="Invalid time (future, before received) or already recorded; "
                "nothing changed"
            ),
            403: OpenApiResponse(description="Not the official who recorded the gift"),
            404: OpenApiResponse(description="No such gift, or not yours to see"),
        },
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        """Record when the gift was registered or surrendered; it is judged again and the answer
        carries all its findings (new ones included)."""
        gift = self.get_object()  # 404 outside the caller's records
        if gift.official_id != request.user.pk:
            raise PermissionDenied("Only the official who recorded the gift may update it.")
        data = GiftOutcomeInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.record_gift_outcome(gift=gift, by=request.user, **data.validated_data)
        record = self.get_queryset().get(pk=gift.pk)
        with translation.override(callers_language(request.user)):
            body = self.get_serializer(record).data
        return Response(body, status=status.HTTP_200_OK)


class AssetUseViewSet(RecordViewSet):
    model = AssetUse
    input_class = AssetUseInput
    serializer_class = AssetUseSerializer
    keep = services.record_asset_use


class DeclarationViewSet(RecordViewSet):
    model = Declaration
    input_class = DeclarationInput
    serializer_class = DeclarationSerializer
    keep = services.record_declaration


for _viewset in (InteractionViewSet, GiftViewSet, AssetUseViewSet, DeclarationViewSet):
    _documented(_viewset)


REFUSAL = inline_serializer(
    "VisitRefusal", {"code": StrictCharField(), "detail": StrictCharField()}
)


class VisitFilingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Visit filings: the filer, the enterprise's liaison and the enterprise itself see them;
    inspectors their region's (exemptions included)."""

    serializer_class = VisitFilingSerializer

    def get_queryset(self):
        return (
            filings_visible_to(self.request.user)
            .select_related("enterprise", "official", "department")
            .order_by("-planned_start", "-id")
        )

    @extend_schema(
        request=VisitFilingInput,
        responses={
            201: VisitFilingSerializer,
            400: OpenApiResponse(description="Invalid input; nothing stored"),
            403: OpenApiResponse(description="Not an official who files visits"),
            409: REFUSAL,
        },
    )
    def create(self, request):
        if not may_keep_records(request.user):
            raise PermissionDenied("Only officials who serve enterprises file visits.")
        data = VisitFilingInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            filed = visits.file_visit(by=request.user, **data.validated_data)
        except visits.VisitRefused as refusal:
            return Response(
                {"code": refusal.code, "detail": refusal.detail}, status=status.HTTP_409_CONFLICT
            )
        body = {**self.get_serializer(filed.filing).data, "joint_with": filed.joint_with}
        return Response(body, status=status.HTTP_201_CREATED)
