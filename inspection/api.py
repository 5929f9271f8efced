"""The API of confidential reports and accountability cases: thin views over the services.

Reports: anyone may file one (throttled, no identity kept when anonymous) and follow it by its
receipt; the reports themselves answer 404 to everyone but the inspectors of their region.
Cases: inspectors of the region and administrators read them; inspectors act on them. No
endpoint changes or removes a decision: there is no PUT, PATCH or DELETE here.
"""

import django_filters
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from compliance.models import AccessLog, CaseSource, CaseStatus, ReportEvidence
from core.errors import UploadTooLarge
from inspection import access, confidential, evidence, selectors, services, throttling
from inspection.errors import Conflict, InvalidInput, NotPermitted
from inspection.serializers import (
    AdditionInput,
    AdditionUploadInput,
    CaseDetailSerializer,
    CaseSerializer,
    ChallengeSerializer,
    DecisionInput,
    DecisionSerializer,
    NoteInput,
    NoteSerializer,
    OpenCaseInput,
    ReceiptSerializer,
    ReporterAdditionSerializer,
    ReportInput,
    ReportMoveInput,
    ReportSerializer,
    ReportStatusSerializer,
)
from requests_app.filters import IdFilter


class _DomainErrors:
    """Maps the inspection errors to their status codes and bodies (API.md's error table)."""

    def handle_exception(self, exc):
        if isinstance(exc, Conflict):
            body = {"detail": str(exc), "code": exc.code, "status": exc.current_status}
            return Response(body, status=status.HTTP_409_CONFLICT)
        if isinstance(exc, NotPermitted):
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        if isinstance(exc, InvalidInput):
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, ObjectDoesNotExist):
            exc = Http404()
        return super().handle_exception(exc)


# --- confidential reports ------------------------------------------------------------------------


def _refusal(verdict: throttling.Verdict) -> Response | None:
    """The answer to a refused report or look-up (400, 429 or 503 with Retry-After), or None."""
    if verdict.ok:
        return None
    if verdict.outcome == "invalid":
        return Response({"stamp": [verdict.message]}, status=status.HTTP_400_BAD_REQUEST)
    code = 429 if verdict.outcome == "throttled" else 503
    return Response(
        {"detail": verdict.message}, status=code, headers={"Retry-After": str(verdict.retry_after)}
    )


class ConfidentialReportViewSet(_DomainErrors, viewsets.GenericViewSet):
    serializer_class = ReportSerializer
    # Filing and following a report need no login; reading reports answers 404 to anyone but the
    # region's inspectors (anonymous callers included: not even "log in first" is said).
    permission_classes = [AllowAny]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.reports_visible_to(self.request.user).prefetch_related(
            "cases", "evidence", "additions__evidence"
        )

    # Filing and receipt look-ups are throttled globally by inspection/throttling.py, which
    # knows no client (a per-client key would point back at the reporter).
    throttle_classes: list = []

    @extend_schema(
        request=ReportInput,
        responses={
            201: ReceiptSerializer,
            400: OpenApiResponse(
                description="Bad input, a bad stamp, or anonymous while logged in."
            ),
            429: OpenApiResponse(description="Too many reports right now (Retry-After)."),
            503: OpenApiResponse(description="Cannot count reports without a stamp (Retry-After)."),
        },
    )
    def create(self, request):
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        confidential.refuse_logged_in_anonymity(request.user, values["anonymous"])
        refusal = _refusal(throttling.admit_report(values.pop("stamp", "")))
        if refusal is not None:
            return refusal
        report = confidential.file_report(
            by=request.user if request.user.is_authenticated else None, **values
        )
        return Response({"receipt": report.receipt}, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ChallengeSerializer)
    @action(detail=False, methods=["get"])
    def challenge(self, request):
        """The proof-of-work challenge a report's `stamp` answers (inspection/throttling.py)."""
        return Response(ChallengeSerializer(throttling.challenge()).data)

    def list(self, request):
        if not selectors.is_inspector(request.user):
            raise NotFound
        page = self.paginate_queryset(self.get_queryset())
        access.log_reads(
            by=request.user,
            target=AccessLog.Target.REPORT,
            ids=[report.pk for report in page],
            via=access.API,
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        report = self.get_object()
        access.log_read(
            by=request.user, target=AccessLog.Target.REPORT, pk=report.pk, via=access.API
        )
        return Response(self.get_serializer(report).data)

    @extend_schema(responses=ReportStatusSerializer)
    @action(
        detail=False,
        methods=["get"],
        # However it is typed: any case, dashes or none, spaces (compliance/receipts.py).
        url_path=r"status/(?P<receipt>[^/]{1,80})",
        url_name="status",
    )
    def status_of(self, request, receipt=None):
        refusal = _refusal(throttling.admit_status_lookup())
        if refusal is not None:
            return refusal
        report = selectors.report_status(receipt)
        return Response(ReportStatusSerializer(report).data)

    @extend_schema(
        request={"multipart/form-data": AdditionUploadInput, "application/json": AdditionInput},
        responses={
            201: ReporterAdditionSerializer,
            400: OpenApiResponse(description="Nothing to add, a bad file, or a bad stamp."),
            404: OpenApiResponse(description="No report has this receipt."),
            409: OpenApiResponse(description="The report is closed."),
            413: OpenApiResponse(description="Upload too large"),
            429: OpenApiResponse(description="Too many right now (Retry-After)."),
        },
    )
    @action(detail=False, methods=["post"], url_path="additions", url_name="additions")
    def add(self, request):
        """Add text and files to a report through its receipt; nothing about the sender is kept.
        A wrong receipt answers 404 and changes nothing."""
        refusal = _refusal(throttling.admit_status_lookup())
        if refusal is not None:
            return refusal
        data = AdditionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not selectors.reports_by_receipt(values["receipt"]).exists():
            raise NotFound
        files = request.FILES.getlist("files")
        if any(upload.size > settings.ATTACHMENT_MAX_BYTES for upload in files):
            raise UploadTooLarge  # 413, as for a request's attachment
        refusal = _refusal(throttling.admit_report(values.get("stamp", "")))
        if refusal is not None:
            return refusal
        addition = evidence.add_to_report(
            receipt=values["receipt"], text=values.get("text", ""), files=files
        )
        body = ReporterAdditionSerializer(selectors.addition_with_evidence(addition.pk)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(
        detail=True,
        methods=["get"],
        url_path=r"evidence/(?P<evidence_id>\d+)",
        url_name="evidence",
    )
    def evidence_file(self, request, pk=None, evidence_id=None):
        """Download one file of the report (the region's inspectors alone), under a neutral name."""
        report = self.get_object()
        item = get_object_or_404(ReportEvidence, pk=evidence_id, report=report)
        access.log_read(
            by=request.user, target=AccessLog.Target.REPORT, pk=report.pk, via=access.API
        )
        return FileResponse(
            item.file.open("rb"),
            as_attachment=True,
            filename=item.download_name,
            content_type=item.content_type,
        )

    @extend_schema(request=ReportMoveInput, responses=ReportSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        report = self.get_object()
        data = ReportMoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        moved = confidential.move_report(report.pk, by=request.user, **data.validated_data)
        return Response(self.get_serializer(moved).data)

    @extend_schema(request=OpenCaseInput, responses={201: CaseSerializer})
    @action(detail=True, methods=["post"], url_path="open-case")
    def open_case(self, request, pk=None):
        report = self.get_object()
        data = OpenCaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        case = confidential.open_case(report.pk, by=request.user, **data.validated_data)
        return Response(CaseSerializer(case).data, status=status.HTTP_201_CREATED)


# --- accountability cases ------------------------------------------------------------------------


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    source = django_filters.ChoiceFilter(choices=CaseSource.choices)
    # Ids typed as integers from 1 in the schema, as the filter accepts them.
    official = IdFilter(field_name="official_id")
    department = IdFilter(field_name="department_id")

    class Meta:
        fields: list[str] = []


class AccountabilityCaseViewSet(
    _DomainErrors, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return selectors.cases_visible_to(self.request.user).order_by("-opened_at", "-id")

    def list(self, request, *args, **kwargs):
        if not request.user.has_perm("inspection.list_cases"):
            raise PermissionDenied("Accountability cases are for inspectors and administrators.")
        # The ids are paged, then the page's rows read with their relations (as the page does).
        ids = selectors.case_ids_in_order(self.filter_queryset(self.get_queryset()))
        page = selectors.cases_in_order(self.paginate_queryset(ids))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses=CaseDetailSerializer)
    def retrieve(self, request, pk=None):
        case = self.get_object()
        access.log_read(by=request.user, target=AccessLog.Target.CASE, pk=case.pk, via=access.API)
        return Response(CaseDetailSerializer(case).data)

    @extend_schema(request=None, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def take(self, request, pk=None):
        case = services.take_case(self.get_object().pk, by=request.user)
        return Response(CaseSerializer(case).data)

    @extend_schema(request=NoteInput, responses={201: NoteSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        case = self.get_object()
        data = NoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.add_note(case.pk, by=request.user, **data.validated_data)
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    def _decision(self, request, service):
        case = self.get_object()  # 404 first, then 403 and 409, then the input's 400s
        services.check_decision(case, by=request.user, correction=service is services.correct)
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = service(case.pk, by=request.user, **data.validated_data)
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DecisionInput,
        responses={
            201: DecisionSerializer,
            400: OpenApiResponse(description="Invalid decision"),
            409: OpenApiResponse(description="Already decided (code already_decided)"),
        },
    )
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        return self._decision(request, services.decide)

    @extend_schema(
        request=DecisionInput,
        responses={
            201: DecisionSerializer,
            409: OpenApiResponse(description="Not decided yet (code not_decided)"),
        },
    )
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        return self._decision(request, services.correct)
