from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


def check_mfa_required_roles(**kwargs) -> list[checks.CheckMessage]:
    """MFA_REQUIRED_ROLES names roles: a typo would silently require two-factor of nobody."""
    from officials.models import Role

    unknown = sorted(set(settings.MFA_REQUIRED_ROLES) - set(Role.values))
    if unknown:
        return [
            checks.Error(
                f"MFA_REQUIRED_ROLES names no role: {', '.join(unknown)}",
                hint=f"Choose among {', '.join(Role.values)}.",
                id="officials.E001",
            )
        ]
    return []


class OfficialsConfig(AppConfig):
    name = "officials"
    verbose_name = _("Officials and enterprises")

    def ready(self) -> None:
        # Register the named permissions before anyone asks `user.has_perm` for one.
        from officials import permissions  # noqa: F401

        checks.register(check_mfa_required_roles)
