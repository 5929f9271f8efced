from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        # The portal wires the apps together: compliance's inspector console reads request
        # histories through a port, and the request app's implementation is plugged in here
        # (compliance may not import requests_app; see compliance/inspection/histories.py).
        from compliance.inspection import histories
        from requests_app.histories import RequestHistories

        histories.register(RequestHistories())
