"""Applicants online: the organisations that apply through the portal, their representatives, the dossiers they
submit (drafts until an officer receives them and a case begins), their results received and their ratings.

An online dossier is not a case until an officer receives it: the legal clock starts at the receipt, and nothing
before it is counted in the department's figures. On receipt, licensing.services.application_receive makes the
case; `Submission.case` links the two, which is how a case is known to have been submitted online."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from licensing.models import Organisation


class ApplicantOrganisation(models.Model):
    """An organisation that applies online, registered once (its tax code) by one of its representatives."""

    name = models.CharField(_("name"), max_length=300)
    kind = models.CharField(_("kind"), max_length=20, choices=Organisation.Kind.choices,
                            default=Organisation.Kind.OTHER)
    tax_code = models.CharField(_("tax code"), max_length=20, unique=True)
    address = models.CharField(_("address"), max_length=500)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("applicant organisation")
        verbose_name_plural = _("applicant organisations")

    def __str__(self) -> str:
        return self.name


class Representative(models.Model):
    """A person who acts online for an organisation. One account represents one organisation; an organisation may
    have several representatives."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="representative")
    organisation = models.ForeignKey(ApplicantOrganisation, on_delete=models.PROTECT,
                                     related_name="representatives", verbose_name=_("organisation"))
    full_name = models.CharField(_("full name"), max_length=200)
    position = models.CharField(_("position"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    # Until the e-mail address is verified the account cannot sign in.
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    # Sign-in through the national identity provider (OpenID Connect): the provider's issuer and subject.
    oidc_issuer = models.CharField(max_length=300, blank=True)
    oidc_subject = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organisation", "full_name", "id"]
        verbose_name = _("representative")
        verbose_name_plural = _("representatives")
        constraints = [
            models.UniqueConstraint(fields=["oidc_issuer", "oidc_subject"], condition=~models.Q(oidc_subject=""),
                                    name="representative_oidc_subject_once"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.organisation})"


class Submission(models.Model):
    """A dossier submitted online, from its draft to its receipt by an officer (then `case` is set)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted, waiting to be received")
        COMPLETION_REQUESTED = "completion_requested", _("To be completed before it is received")
        ACCEPTED = "accepted", _("Received")
        NOT_RECEIVED = "not_received", _("Not received")
        WITHDRAWN = "withdrawn", _("Withdrawn before receipt")

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(ApplicantOrganisation, on_delete=models.PROTECT, related_name="submissions",
                                     verbose_name=_("organisation"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    procedure = models.CharField(_("procedure"), max_length=64)  # a licensing.procedures.PROCEDURES code
    # The agency it is addressed to (competent for the procedure on the day it is submitted).
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="submissions", verbose_name=_("agency"))
    fields = models.JSONField(_("dossier fields"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=30, choices=State.choices, default=State.DRAFT)
    declared_at = models.DateTimeField(_("declaration made at"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    # The officer's answer: receipt, a request to complete it first, or a refusal to receive (with reasons).
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("handled by"))
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="submission", verbose_name=_("case"))
    # The refusal to receive (Mẫu 03, licensing/slips.py): its DOCX as issued and its verification record, whose
    # signed PDF the applicant downloads (applicants/slips.py). Empty until an officer refuses to receive.
    refusal_slip = models.FileField(_("refusal to receive (DOCX)"), upload_to="submissions/refusals/%Y/",
                                    blank=True, max_length=200)
    refusal_document = models.OneToOneField("documents.VerifiableDocument", on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="refused_submission",
                                            verbose_name=_("refusal to receive (verification)"))
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("online dossier")
        verbose_name_plural = _("online dossiers")
        indexes = [models.Index(fields=["state", "agency", "submitted_at"], name="submission_queue_idx"),
                   models.Index(fields=["organisation", "-created_at"], name="submission_org_idx")]

    def __str__(self) -> str:
        return f"{self.procedure} {self.uuid}"


def submission_file_upload_to(instance: "SubmissionFile", filename: str) -> str:
    # Never the uploader's name in a stored path (cases/attachments.py).
    return f"submissions/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{instance.extension}"


class SubmissionFile(models.Model):
    """A file of an online dossier, checked as at the counter (cases.attachments.upload_inspect) before it is
    stored; copied to the case's attachments on receipt."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="files")
    kind = models.SlugField(_("document kind"), max_length=40, blank=True)
    file = models.FileField(upload_to=submission_file_upload_to, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("online dossier file")
        verbose_name_plural = _("online dossier files")
        constraints = [models.UniqueConstraint(fields=["submission", "sha256"], name="submission_file_once")]

    def __str__(self) -> str:
        return self.original_name


class ResultDelivery(models.Model):
    """A document of a case received electronically by the applicant: the first download through the portal."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="deliveries")
    document = models.ForeignKey("licensing.IssuedDocument", on_delete=models.PROTECT, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    delivered_at = models.DateTimeField(_("delivered at"), default=timezone.now)

    class Meta:
        ordering = ["delivered_at", "id"]
        verbose_name = _("result delivered online")
        verbose_name_plural = _("results delivered online")
        constraints = [models.UniqueConstraint(fields=["document"], name="delivery_once_per_document")]

    def __str__(self) -> str:
        return f"{self.document} → {self.user}"


class Rating(models.Model):
    """The applicant's satisfaction with a case's handling, given once after its result."""

    class Score(models.IntegerChoices):
        VERY_SATISFIED = 5, _("Very satisfied")
        SATISFIED = 4, _("Satisfied")
        NEUTRAL = 3, _("Neither satisfied nor dissatisfied")
        DISSATISFIED = 2, _("Dissatisfied")
        VERY_DISSATISFIED = 1, _("Very dissatisfied")

    UNSATISFIED_AT_MOST = 2  # a score of 2 or less is shown to the head

    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="rating")
    organisation = models.ForeignKey(ApplicantOrganisation, on_delete=models.PROTECT, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField(_("satisfaction"), choices=Score.choices,
                                             validators=[MinValueValidator(1), MaxValueValidator(5)])
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    created_at = models.DateTimeField(_("rated at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5),
                                              name="rating_score_1_to_5")]

    def __str__(self) -> str:
        return f"{self.case} {self.score}"

    @property
    def unsatisfied(self) -> bool:
        return self.score <= self.UNSATISFIED_AT_MOST


class Registration(models.Model):
    """An account registered on the portal, until it acts for an organisation.

    The account (a user with no department role) is made at registration; what it registered (the organisation,
    the person) waits here until the e-mail address is verified. Then, for a tax code not yet registered, the
    organisation is made with this person as its first representative; for a tax code already registered, a
    representative of that organisation must approve the person first (nobody joins an organisation alone).
    Signing in through the identity provider (OpenID Connect) records its issuer and subject here, for the
    representative made on approval."""

    class State(models.TextChoices):
        UNVERIFIED = "unverified", _("E-mail address not verified yet")
        AWAITING_APPROVAL = "awaiting_approval", _("Waiting for a representative of the organisation to approve")
        APPROVED = "approved", _("Approved: acts for the organisation")
        REFUSED = "refused", _("Refused by the organisation")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registration")
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.UNVERIFIED)
    # The organisation as the registrant described it.
    organisation_name = models.CharField(_("organisation name"), max_length=300)
    organisation_kind = models.CharField(_("kind"), max_length=20, choices=Organisation.Kind.choices,
                                         default=Organisation.Kind.OTHER)
    tax_code = models.CharField(_("tax code"), max_length=20)
    organisation_address = models.CharField(_("address"), max_length=500)
    organisation_phone = models.CharField(_("phone"), max_length=30, blank=True)
    organisation_email = models.EmailField(_("email"), blank=True)
    # The person.
    full_name = models.CharField(_("full name"), max_length=200)
    position = models.CharField(_("position"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email_verified_at = models.DateTimeField(_("e-mail verified at"), null=True, blank=True)
    oidc_issuer = models.CharField(max_length=300, blank=True)
    oidc_subject = models.CharField(max_length=255, blank=True)
    # The organisation it joined or asks to join, once the address is verified.
    organisation = models.ForeignKey(ApplicantOrganisation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="registrations", verbose_name=_("organisation"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("portal registration")
        verbose_name_plural = _("portal registrations")
        indexes = [models.Index(fields=["organisation", "state"], name="registration_org_state_idx")]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.tax_code}, {self.state})"
