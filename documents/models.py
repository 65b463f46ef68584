"""What anyone may check about an issued document (the public verification page)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .codes import code_format


class VerifiableDocument(models.Model):
    """One issued document as its public verification page shows it: the facts it prints, its status, and the
    signed PDF (its SHA-256 recognises an uploaded copy). Nothing else about the case is kept here.

    A row is reserved (code, printed facts) before its PDF exists, since the PDF prints the code and its QR code;
    it is public once the signed PDF is stored (`signed_at` set)."""

    class Status(models.TextChoices):
        VALID = "valid", _("valid")
        REVOKED = "revoked", _("revoked")
        REPLACED = "replaced", _("replaced")

    code = models.CharField(_("verification code"), max_length=10, unique=True,
                            help_text=_("Printed on the document as XXXX-XXXX-XX, with its QR code."))
    # Whoever reserves the row names it (e.g. "licensing.issueddocument:42"), so that a retried issue finds the
    # row it reserved before instead of making a second one. Never shown publicly.
    reference = models.CharField(_("reference"), max_length=100, unique=True, null=True, blank=True)
    issuer = models.ForeignKey("agencies.Agency", models.PROTECT, related_name="verifiable_documents",
                               verbose_name=_("issuing agency"))
    # The agency's names as the document prints them, kept as they were on the day of issue.
    issuer_name = models.CharField(_("issuer's name"), max_length=300)
    issuer_parent_name = models.CharField(_("issuer's parent authority"), max_length=300, blank=True)
    kind = models.CharField(_("kind of document"), max_length=200)
    number_text = models.CharField(_("number"), max_length=100)
    issued_on = models.DateField(_("issued on"))
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    holder = models.CharField(_("holder"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.VALID)
    status_note = models.CharField(_("status note"), max_length=500, blank=True,
                                   help_text=_("E.g. the number of the decision that revoked it."))
    status_changed_on = models.DateField(_("status changed on"), null=True, blank=True)
    replaced_by = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="replaces",
                                    verbose_name=_("replaced by"))
    sha256 = models.CharField(_("SHA-256 of the signed PDF"), max_length=64, blank=True, db_index=True)
    pdf = models.FileField(_("signed PDF"), upload_to="documents/signed/%Y/", blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("verifiable document")
        verbose_name_plural = _("verifiable documents")
        indexes = [models.Index(fields=["issuer", "signed_at"], name="verifiable_issuer_signed")]
        constraints = [
            models.CheckConstraint(name="verifiable_signed_has_hash_and_file",
                                   condition=Q(signed_at__isnull=True) | (~Q(sha256="") & ~Q(pdf=""))),
            models.CheckConstraint(name="verifiable_replaced_has_replacement",
                                   condition=~Q(status="replaced") | Q(replaced_by__isnull=False)),
            models.CheckConstraint(name="verifiable_not_replaced_by_itself",
                                   condition=Q(replaced_by__isnull=True) | ~Q(replaced_by=models.F("id"))),
        ]

    def __str__(self) -> str:
        return f"{self.number_text} ({code_format(self.code)})"

    @property
    def code_printed(self) -> str:
        return code_format(self.code)

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None
