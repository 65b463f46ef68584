from django.utils.translation import gettext_lazy as _

from cases.errors import DomainError


class DossierIncomplete(DomainError):
    code = "dossier_incomplete"
    status = 409
    title = _("The dossier is not complete yet.")
