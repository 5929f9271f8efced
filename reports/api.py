"""The quarterly report API (API.md "Reports"): JSON, or the same figures as CSV or XLSX."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.replica import reads_from_replica
from reports import exports
from reports.exports import CONTENT_TYPES
from reports.figures import MAX_YEAR, MIN_YEAR
from reports.forms import ApiReportQuery
from reports.selectors import (
    narrow_to_department,
    quarterly_report,
    report_scope,
)


def _integer(minimum: int, maximum: int) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": maximum}


class QuarterlyReportView(APIView):
    """GET /api/v1/reports/quarterly/?year=YYYY&quarter=Q[&department=id][&format=csv|xlsx]"""

    def perform_content_negotiation(self, request, force=False):
        # `format` here picks a download, not a DRF renderer: answer JSON for everything else.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        parameters=[
            # The bounds ApiReportQuery enforces: anything outside them is a 400.
            OpenApiParameter("year", _integer(MIN_YEAR, MAX_YEAR), required=True),
            OpenApiParameter("quarter", OpenApiTypes.INT, required=True, enum=[1, 2, 3, 4]),
            OpenApiParameter("department", _integer(1, 2**63 - 1)),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv", "xlsx"]),
        ],
        responses={
            (200, "application/json"): OpenApiTypes.OBJECT,
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY,
        },
    )
    @reads_from_replica
    def get(self, request):
        if not request.user.has_perm("reports.view"):
            raise PermissionDenied
        query = ApiReportQuery(request.query_params)
        if not query.is_valid():
            raise ValidationError(
                {
                    name: [str(message) for message in errors]
                    for name, errors in query.errors.items()
                }
            )
        scope = narrow_to_department(report_scope(request.user), query.cleaned_data["department"])
        report = quarterly_report(scope, query.period)
        fmt = query.cleaned_data.get("format") or "json"
        if fmt == "json":
            return Response(report)
        header, rows = exports.report_table(report)
        name = f"quarterly-{query.period.label}"
        if fmt == "csv":
            body = exports.csv_bytes(header, rows)
        else:
            body = exports.xlsx_bytes(header, rows, name)
        response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return response
