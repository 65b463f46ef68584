from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo department (`manage.py load_demo`, run by `make run`): accounts, a department year and recent
    dossiers, made through the domain apps' services. Nothing in the domain apps imports it."""

    name = "demo"
    verbose_name = _("Demo data")
