from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Cases")

    def ready(self) -> None:
        from . import search, security, tasks, text  # noqa: F401  registers the sign-in failure receiver and the Celery tasks

        search.sqlite_functions_install()  # the text search's word comparison in the embedded mode (cases/search.py)
        text.doors_install()  # text is stored clean through every door: API fields, forms, models (cases/text.py)
