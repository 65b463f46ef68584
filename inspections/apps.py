from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "inspections"
    verbose_name = _("Inspections")

    def ready(self) -> None:
        from cases import hooks

        from . import services, tasks  # noqa: F401  registers the case-engine hooks and the Celery tasks
        from .models import FollowUp

        # A closed campaign with corrections still to verify is open work: an agency transfer moves it too.
        hooks.still_open("inspection")(lambda cases: cases.filter(pk__in=FollowUp.objects.filter(
            done_at__isnull=True).values("violation__target__campaign__case_id")))
