"""Page URLs of people and places."""

from django.urls import path

from officials import views

app_name = "officials"

urlpatterns = [
    # Claim an enterprise (the old registration page's address, which pages still link to).
    path("enterprises/new/", views.enterprise_create, name="enterprise-create"),
    path("accounts/claims/", views.claims, name="claims"),
    path(
        "accounts/claims/<int:pk>/verify/",
        views.claim_decide,
        {"decision": "verify"},
        name="claim-verify",
    ),
    path(
        "accounts/claims/<int:pk>/refuse/",
        views.claim_decide,
        {"decision": "refuse"},
        name="claim-refuse",
    ),
]
