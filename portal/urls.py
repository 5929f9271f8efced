"""Top-level URLs: pages, the admin, the API and its schema."""

from allauth.account import views as allauth_views
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from notifications.api import InboxReadView, InboxView, MeView
from officials import accounts
from officials import views as officials_views
from officials.api import CategoryViewSet, DepartmentViewSet, EnterpriseViewSet, UserViewSet
from portal import api_docs, favicon, health, home, tokens, views
from requests_app.api import CalendarYearView, ServiceRequestViewSet

router = DefaultRouter(trailing_slash=True)
router.register("categories", CategoryViewSet, basename="category")
router.register("departments", DepartmentViewSet, basename="department")
router.register("enterprises", EnterpriseViewSet, basename="enterprise")
router.register("users", UserViewSet, basename="user")
router.register("requests", ServiceRequestViewSet, basename="request")

urlpatterns = [
    path("", home.home, name="home"),
    # Accounts (django-allauth): the login keeps its address and name; django-axes locks it.
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", allauth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", officials_views.profile, name="profile"),
    path("accounts/", include("allauth.urls")),
    # Django's language switch, which also remembers a signed-in user's choice for their messages.
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/auth/token/", views.ObtainTokenView.as_view(), name="api-token"),
    path("api/v1/auth/token/revoke/", tokens.RevokeTokenView.as_view(), name="api-token-revoke"),
    path("api/v1/", include(router.urls)),
    path("api/v1/me/", MeView.as_view(), name="me"),
    path("api/v1/inbox/", InboxView.as_view(), name="inbox-list"),
    path("api/v1/inbox/read/", InboxReadView.as_view(), name="inbox-read"),
    path("api/v1/calendar/<int:year>/", CalendarYearView.as_view(), name="calendar-year"),
    path("api/v1/", include("inspection.api_urls")),
    path("api/v1/", include("compliance.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Behind a login in production (API_DOCS_PUBLIC). The split view loads its start-up script
    # from a URL: no inline script (the CSP forbids it).
    path("api/docs/", api_docs.api_docs, name="api-docs"),
    path("health/", health.health, name="health"),
    path("favicon.ico", favicon.favicon, name="favicon"),
    path("", include("portal.urls_pages")),
    path("", include("requests_app.urls")),
    path("", include("inspection.urls")),
    path("", include("compliance.urls")),
    path("", include("reports.urls")),
    path("", include("officials.urls")),
]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
