from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OfficialsConfig(AppConfig):
    name = "officials"
    verbose_name = _("Officials and enterprises")

    def ready(self) -> None:
        # Register the named permissions before anyone asks `user.has_perm` for one.
        from officials import permissions  # noqa: F401
