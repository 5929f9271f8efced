"""Page URLs of the request loop."""

from django.urls import path

from requests_app import views

app_name = "requests"

urlpatterns = [
    path("requests/", views.request_list, name="list"),
    path("requests/new/", views.request_create, name="create"),
    path("requests/<int:pk>/", views.request_detail, name="detail"),
    path("requests/<int:pk>/act/<slug:action>/", views.request_act, name="act"),
    path("requests/bulk/", views.request_bulk, name="bulk"),
    path("requests/views/", views.saved_view_create, name="view-save"),
    path("requests/views/<int:pk>/delete/", views.saved_view_delete, name="view-delete"),
    path("requests/<int:pk>/attach/", views.request_attach, name="attach"),
    path("requests/<int:pk>/verify/", views.request_verify, name="verify"),
    path(
        "requests/<int:pk>/files/<int:attachment_id>/", views.attachment_download, name="attachment"
    ),
    path(
        "requests/<int:pk>/files/<int:attachment_id>/view/",
        views.attachment_view,
        name="attachment-view",
    ),
    path(
        "requests/<int:pk>/files/<int:attachment_id>/preview/",
        views.attachment_preview,
        name="attachment-preview",
    ),
    path("extensions/", views.extension_list, name="extensions"),
    path("ledger/", views.ledger, name="ledger"),
]
