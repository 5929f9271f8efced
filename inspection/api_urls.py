"""API routes of confidential reports and accountability cases (included under /api/v1/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from inspection.api import AccountabilityCaseViewSet, ConfidentialReportViewSet
from inspection.timeline_api import CheckpointListView

router = SimpleRouter(trailing_slash=True)
router.register("reports/confidential", ConfidentialReportViewSet, basename="confidential-report")
router.register("accountability-cases", AccountabilityCaseViewSet, basename="accountability-case")

urlpatterns = [
    *router.urls,
    path("timeline/checkpoints/", CheckpointListView.as_view(), name="timeline-checkpoints"),
]
