"""URLs of reports: pages under /reports/ and the quarterly report API."""

from django.urls import path, re_path

from reports import api, views

app_name = "reports"

urlpatterns = [
    path(
        "api/v1/reports/quarterly/",
        api.QuarterlyReportView.as_view(),
        name="api-quarterly",
    ),
    path("reports/", views.dashboard, name="dashboard"),
    path("reports/requests/", views.figure_requests, name="requests"),
    re_path(r"^reports/quarterly\.(?P<fmt>csv|xlsx|pdf)$", views.report_download, name="download"),
    path("reports/exports/<int:pk>/", views.export_job, name="job"),
    path("reports/exports/<int:pk>/status/", views.export_job_status, name="job-status"),
    path("reports/exports/<int:pk>/download/", views.export_job_download, name="job-download"),
]
