from django.apps import AppConfig


class AlliancesConfig(AppConfig):
    name = "alliances"
    verbose_name = "Organisations and alliances"

    def ready(self):
        from . import audit  # noqa: F401  (connects the sign-in signals to the audit log)
