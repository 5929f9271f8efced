"""Page URLs of compliance: the public lists, officials' records, visit filings."""

from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("lists/", views.lists_page, name="lists"),
    path("records/", views.records, name="records"),
    path("records/<slug:kind>/new/", views.record_new, name="record-new"),
    path("records/<slug:kind>/<int:pk>/", views.record_detail, name="record-detail"),
    path("records/gifts/<int:pk>/outcome/", views.gift_outcome, name="gift-outcome"),
    path("visits/", views.visit_list, name="visits"),
    path("visits/new/", views.visit_new, name="visit-new"),
    path("visits/<int:pk>/cancel/", views.visit_cancel, name="visit-cancel"),
]
