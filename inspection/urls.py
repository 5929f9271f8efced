"""Page URLs: filing and following a confidential report, and the inspector's console."""

from django.urls import path

from inspection import views

app_name = "inspector"

urlpatterns = [
    path("confidential-report/", views.report_file, name="report-file"),
    path("confidential-report/anonymous/", views.report_file_anonymous, name="report-anonymous"),
    path("confidential-report/status/", views.report_status, name="report-status"),
    path("confidential-report/status/add/", views.report_add, name="report-add"),
    path("inspector/", views.alerts, name="alerts"),
    path("inspector/findings/", views.finding_list, name="findings"),
    path("inspector/cases/", views.case_list, name="cases"),
    path("inspector/cases/<int:pk>/", views.case_detail, name="case"),
    path("inspector/cases/<int:pk>/<slug:action>/", views.case_act, name="case-act"),
    path("inspector/reports/", views.report_list, name="reports"),
    path("inspector/reports/<int:pk>/", views.report_detail, name="report"),
    path("inspector/reports/<int:pk>/<slug:action>/", views.report_act, name="report-act"),
    path(
        "inspector/reports/<int:pk>/evidence/<int:evidence_id>/",
        views.report_evidence,
        name="report-evidence",
    ),
    path("inspector/search/", views.search, name="search"),
    path("inspector/officials/", views.official_list, name="officials"),
    path("inspector/officials/<int:pk>/", views.official_timeline, name="official"),
]
