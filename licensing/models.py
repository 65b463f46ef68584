"""The six licensing procedures: applicants, dossiers, issued documents and the permits registry."""

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case


class Organisation(models.Model):
    """An applicant or permit holder, kept once per agency so that nobody retypes it. Each agency keeps its own
    registry (a tax code once per agency); a successor reads its predecessors' entries."""

    class Kind(models.TextChoices):
        PRESS_AGENCY = "press_agency", _("Press agency")
        COMPANY = "company", _("Company")
        PRINT_FACILITY = "print_facility", _("Print facility")
        SCHOOL = "school", _("School or university")
        STATE_AGENCY = "state_agency", _("State agency")
        ASSOCIATION = "association", _("Association or union")
        RELIGIOUS = "religious", _("Religious organisation")
        OTHER = "other", _("Other")

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="organisations",
                               verbose_name=_("agency"))
    name = models.CharField(_("name"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    tax_code = models.CharField(_("tax code"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    representative = models.CharField(_("legal representative"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        constraints = [
            models.UniqueConstraint(fields=["agency", "tax_code"], condition=~models.Q(tax_code=""),
                                    name="organisation_tax_code_once_per_agency"),
        ]
        indexes = [models.Index(fields=["name"], name="organisation_name_idx")]

    def __str__(self) -> str:
        return self.name


class PrintFacility(models.Model):
    """A print facility known from a printing licence or registration; inspections use it as a target."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="print_facilities",
                               verbose_name=_("agency"))
    name = models.CharField(_("name"), max_length=300)
    address = models.CharField(_("address"), max_length=500)
    owner = models.CharField(_("owner"), max_length=200, blank=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="print_facilities", verbose_name=_("organisation"))
    equipment = models.JSONField(_("equipment"), default=list, blank=True)
    products = models.TextField(_("products"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("print facility")
        verbose_name_plural = _("print facilities")

    def __str__(self) -> str:
        return self.name


# The receipt secret's alphabet: no 0/O, 1/I/L, 2/Z, 5/S, 8/B pairs that a person reading a slip could mix up.
RECEIPT_SECRET_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
RECEIPT_SECRET_LENGTH = 8  # 25^8 ≈ 1.5·10^11 secrets; the public lookup is throttled on top


def receipt_secret_new() -> str:
    """A fresh receipt secret: 8 characters a person types from the printed receipt ("K7QM-3RXA" as printed)."""
    return "".join(secrets.choice(RECEIPT_SECRET_ALPHABET) for _ in range(RECEIPT_SECRET_LENGTH))


class Dossier(models.Model):
    """The application behind a licensing case: the procedure's own fields, validated on the way in.

    receipt_secret: printed on the receipt with the dossier's code (the case reference); whoever holds the receipt
    looks the dossier up with both (selectors.dossier_lookup). Made when the dossier is received, whatever the door
    (counter, API, online submission, a past register's import)."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, primary_key=True, related_name="dossier")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="dossiers",
                                     verbose_name=_("applicant"))
    print_facility = models.ForeignKey(PrintFacility, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="dossiers", verbose_name=_("print facility"))
    fields = models.JSONField(_("dossier fields"), default=dict)
    complete = models.BooleanField(_("complete"), null=True)
    missing = models.JSONField(_("missing items"), default=list, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    receipt_secret = models.CharField(_("receipt secret"), max_length=16, default=receipt_secret_new,
                                      editable=False)

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")

    def __str__(self) -> str:
        return f"{self.case.reference}"


# IssuedDocument kinds a case may hold several of, one per timeline event (event_id): apologies, supplement slips.
PER_EVENT_KINDS = ["apology", "supplement_slip"]


class IssuedDocument(models.Model):
    """A document the department issued on a case: licence, written approval, refusal (numbered: the results), and
    the one-stop-shop slips (not numbered, never results): apology, receipt, supplement request."""

    class Kind(models.TextChoices):
        PERMIT = "permit", _("Licence")
        APPROVAL = "approval", _("Written approval")
        REFUSAL = "refusal", _("Refusal letter")
        APOLOGY = "apology", _("Apology and new appointment")
        RECEIPT = "receipt", _("Receipt and appointment slip")
        SUPPLEMENT_SLIP = "supplement_slip", _("Supplement request slip")

    # The results of a case: what the figures, the registry and "delivered electronically" count. The others are
    # slips of the one-stop shop (signed documents too, never results).
    RESULT_KINDS = frozenset({"permit", "approval", "refusal"})

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    # The agency that numbered and issued it (the case's agency at the time): numbers run per agency. Empty only for
    # rows written outside the services.
    issuer = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="issued_documents", verbose_name=_("issued by"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    series = models.CharField(_("number series"), max_length=10, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True)
    number = models.PositiveIntegerField(_("number"), null=True, blank=True)
    number_text = models.CharField(_("document number"), max_length=40, blank=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    signer_name = models.CharField(_("signed by"), max_length=200, blank=True)
    file = models.FileField(upload_to="documents/%Y/", max_length=200)
    sha256 = models.CharField(max_length=64)
    # The event that caused it (apology letters, supplement slips: one per event).
    event_id = models.BigIntegerField(null=True, blank=True)
    # Its electronic copy: the verification code printed with its QR code, and (once signed) the signed PDF
    # (licensing/electronic.py). Empty for documents issued before electronic results and imported ones.
    verifiable = models.OneToOneField("documents.VerifiableDocument", on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="+", verbose_name=_("electronic copy"))

    class Meta:
        ordering = ["issued_at", "id"]
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        constraints = [
            # The number text holds the series and the agency's symbol ("15/GP-STTTT", "03/STTTT-TTBCXB").
            models.UniqueConstraint(fields=["issuer", "year", "number_text"], condition=models.Q(number__isnull=False),
                                    name="document_number_once_per_issuer"),
            models.UniqueConstraint(fields=["case", "kind"], condition=~models.Q(kind__in=PER_EVENT_KINDS),
                                    name="document_one_of_a_kind_per_case"),
            models.UniqueConstraint(fields=["case", "kind", "event_id"], condition=models.Q(kind__in=PER_EVENT_KINDS),
                                    name="document_one_slip_per_event"),
        ]

    def __str__(self) -> str:
        return self.number_text or f"{self.get_kind_display()} {self.case_id}"


class PermitQuerySet(models.QuerySet):
    def in_force(self):
        """Neither revoked nor replaced by a re-issue."""
        return self.filter(revoked_at__isnull=True, replaced_by__isnull=True)


class Permit(models.Model):
    """The registry of issued results (licences and written approvals) and their revocation."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="permit")
    document = models.OneToOneField(IssuedDocument, on_delete=models.PROTECT, related_name="permit")
    number_text = models.CharField(_("number"), max_length=40, db_index=True)  # unique per year via document
    procedure = models.CharField(_("procedure"), max_length=64)
    result_unit = models.CharField(_("unit"), max_length=4)
    holder = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="permits",
                               verbose_name=_("holder"))
    print_facility = models.ForeignKey(PrintFacility, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="permits", verbose_name=_("print facility"))
    title = models.CharField(_("title"), max_length=500, blank=True)
    issued_at = models.DateTimeField(_("issued at"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoke_reasons = models.TextField(_("reasons for revocation"), blank=True)
    # A re-issue: a later licence for the same print facility under the same procedure takes this one's place
    # (services.permit_replace_earlier). A replaced permit is no longer in force; it is never revoked afterwards.
    replaced_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="replaces", verbose_name=_("replaced by"))
    replaced_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    objects = PermitQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("permit")
        verbose_name_plural = _("permits")
        indexes = [models.Index(fields=["procedure", "issued_at"], name="permit_procedure_issued_idx")]

    def __str__(self) -> str:
        return self.number_text


class Notification(models.Model):
    """An email to the applicant, written in the transaction of its cause and sent once by a task. An email about a
    dossier submitted online and not yet received (no case yet) has no case: its key names its cause alone."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notifications", null=True, blank=True)
    # What it is about: "received", "supplement:<event>", "decision", ...; without a case, a key unique by itself
    # ("online:<submission uuid>:<cause>:<version>").
    key = models.CharField(max_length=100)
    recipient = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Committed before the email is handed to the mail server: set without sent_at, the email may or may not have
    # gone out (the sender died in between), and it is never sent again without a person's decision.
    sending_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="notification_once_per_cause"),
                       models.UniqueConstraint(fields=["key"], condition=models.Q(case__isnull=True),
                                               name="notification_once_per_cause_without_case")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.key} → {self.recipient}"
