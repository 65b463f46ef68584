from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicantsConfig(AppConfig):
    """Applicants online: organisations' representatives submit, supplement, follow and receive their dossiers."""

    name = "applicants"
    verbose_name = _("Applicants online")

    def ready(self):
        from . import tasks  # noqa: F401  registers the Celery tasks (the embedded mode runs them in process)
