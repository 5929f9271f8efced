"""Page URLs of people and places."""

from django.urls import path

from officials import views

app_name = "officials"

urlpatterns = [
    path("enterprises/new/", views.enterprise_create, name="enterprise-create"),
]
