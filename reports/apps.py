from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from . import backfill, services, tasks  # noqa: F401  registers the case-change hooks and the Celery tasks
        from .report_services import report_hooks_register

        report_hooks_register()
