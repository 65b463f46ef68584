from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkerConfig(AppConfig):
    name = "worker"
    verbose_name = _("Background work")

    def ready(self) -> None:
        from . import tasks  # noqa: F401  registers the Celery tasks
        from .embedded import embedded_schedule_start

        embedded_schedule_start()  # the periodic jobs, in the embedded mode's serving process only
