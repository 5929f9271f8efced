from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = _("Service requests")

    def ready(self):
        # Connects the signals that make every process forget its copy of the calendar table
        # when an admin changes a row of it, and the bulk bar's departments and handlers when
        # a department or a user changes.
        from requests_app import forms, working_time  # noqa: F401
