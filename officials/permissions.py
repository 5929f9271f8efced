"""API permissions by role; here, below every other app, so that any app's API may use them."""

from rest_framework.permissions import BasePermission

from officials.models import Role


class IsAdminRole(BasePermission):
    message = "Only administrators may do this."

    def has_permission(self, request, view) -> bool:
        return bool(
            request.user and request.user.is_authenticated and request.user.role == Role.ADMIN
        )
