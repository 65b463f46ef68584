from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    """The documents room: a document's PDF from its DOCX, its signature, and what anyone may check about it.
    Above agencies, below everything that issues documents (licensing, inspections, reports)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "documents"
    verbose_name = _("Documents")
