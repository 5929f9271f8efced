"""API routes of confidential reports and accountability cases (included under /api/v1/)."""

from rest_framework.routers import SimpleRouter

from inspection.api import AccountabilityCaseViewSet, ConfidentialReportViewSet

router = SimpleRouter(trailing_slash=True)
router.register("reports/confidential", ConfidentialReportViewSet, basename="confidential-report")
router.register("accountability-cases", AccountabilityCaseViewSet, basename="accountability-case")

urlpatterns = router.urls
