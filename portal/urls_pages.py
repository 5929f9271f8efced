"""Page URLs of the portal itself: the in-app inbox."""

from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/", views.inbox_open, name="inbox-open"),
    path("inbox/read-all/", views.inbox_mark_all_read, name="inbox-read-all"),
    path("inbox/settings/", views.inbox_settings, name="inbox-settings"),
]
