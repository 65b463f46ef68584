from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkerConfig(AppConfig):
    name = "worker"
    verbose_name = _("Background work")

    def ready(self) -> None:
        from . import tasks  # noqa: F401  registers the Celery tasks
