import contextlib
import contextvars
import uuid

from django.conf import settings
from django.db import models
from django.db.models.query_utils import DeferredAttribute
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .workflow import Outcome, State

# --- The protected state field -------------------------------------------------------------------

_state_write_allowed = contextvars.ContextVar("state_write_allowed", default=False)


@contextlib.contextmanager
def state_write_allowed():
    """Only cases.services.case_transition opens this; nothing else can write Case.state."""
    token = _state_write_allowed.set(True)
    try:
        yield
    finally:
        _state_write_allowed.reset(token)


class ProtectedStateError(AttributeError):
    pass


class _ProtectedStateDescriptor(DeferredAttribute):
    def __init__(self, field):
        super().__init__(field)
        self.field_name = field.attname

    def __set__(self, instance, value):
        current = instance.__dict__.get(self.field_name, None)
        if not _state_write_allowed.get() and (
            (self.field_name in instance.__dict__ and current is not None and value != current)
            # A stored case loaded without its state (only()/defer()): saving would write the new value.
            or (self.field_name not in instance.__dict__ and not instance._state.adding)
        ):
            raise ProtectedStateError("Case.state changes only through a workflow transition.")
        instance.__dict__[self.field_name] = value


class ProtectedStateField(models.CharField):
    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        setattr(cls, self.attname, _ProtectedStateDescriptor(self))


# --- Catalogue -----------------------------------------------------------------------------------


class Domain(models.TextChoices):
    LICENSING = "licensing", _("Licensing")
    INSPECTION = "inspection", _("Inspection")
    # The department's periodic reports (reports/): cases of their own workflow, never counted in the figures.
    REPORT = "report", _("Report")


class LimitUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    CALENDAR_DAYS = "calendar_days", _("calendar days")
    WORKING_DAYS = "working_days", _("working days")


class ResultUnit(models.TextChoices):
    VB = "VB", _("Written decision (VB)")
    GP = "GP", _("Licence (GP)")
    NONE = "", _("None")


class CaseType(models.Model):
    """A licensing procedure or an inspection type; its legal terms live in CaseTypeTerms, dated."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_vi = models.CharField(_("name (Vietnamese)"), max_length=300)
    name_en = models.CharField(_("name (English)"), max_length=300)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    report_order = models.PositiveSmallIntegerField(_("order in the report"), default=0)
    reference_prefix = models.CharField(_("reference prefix"), max_length=10)
    active = models.BooleanField(_("accepting new cases"), default=True)

    class Meta:
        ordering = ["domain", "report_order", "code"]
        verbose_name = _("case type")
        verbose_name_plural = _("case types")

    def __str__(self) -> str:
        return self.name_vi

    def terms_on(self, day) -> "CaseTypeTerms | None":
        """The terms in force on `day` (a date): the latest effective on or before it."""
        return self.terms.filter(effective_from__lte=day).order_by("-effective_from").first()


class CaseTypeTerms(models.Model):
    """Time limit, result unit and legal basis of a case type from a date on.

    A change of law adds a row; cases keep the row they were received under.
    """

    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="terms")
    effective_from = models.DateField(_("effective from"))
    result_unit = models.CharField(_("result unit"), max_length=4, choices=ResultUnit.choices, blank=True)
    limit_amount = models.PositiveIntegerField(_("time limit"), null=True, blank=True)
    limit_unit = models.CharField(_("time limit unit"), max_length=20, choices=LimitUnit.choices, blank=True)
    legal_basis = models.TextField(_("legal basis"), blank=True)

    class Meta:
        ordering = ["case_type", "-effective_from"]
        verbose_name = _("case type terms")
        verbose_name_plural = _("case type terms")
        constraints = [
            models.UniqueConstraint(fields=["case_type", "effective_from"], name="terms_one_per_date"),
            models.CheckConstraint(
                condition=(models.Q(limit_amount__isnull=True, limit_unit="")
                           | models.Q(limit_amount__isnull=False) & ~models.Q(limit_unit="")),
                name="terms_limit_has_unit",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_type.code} @ {self.effective_from}"


class LegalInstrument(models.Model):
    """A legal instrument cited as a basis of documents, with what a full citation needs (number, date, issuer,
    title). Data an administrator keeps: laws are amended, replaced and merged."""

    class Kind(models.TextChoices):
        LAW = "Luật", "Luật"
        RESOLUTION = "Nghị quyết", "Nghị quyết"
        DECREE = "Nghị định", "Nghị định"
        DECISION = "Quyết định", "Quyết định"
        CIRCULAR = "Thông tư", "Thông tư"
        JOINT_CIRCULAR = "Thông tư liên tịch", "Thông tư liên tịch"

    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    number = models.CharField(_("number"), max_length=60, unique=True, help_text="60/2014/NĐ-CP")
    issued_on = models.DateField(_("date of issue"))
    issuer = models.CharField(_("issued by"), max_length=200, help_text="Chính phủ")
    title = models.CharField(_("title"), max_length=500,
                             help_text="Luật: “Báo chí”; others: “quy định về hoạt động in”")
    # The agency's own mandate (its functions and powers): cited first in every document it issues.
    mandate = models.BooleanField(_("the agency's mandate"), default=False)
    repealed_on = models.DateField(_("no longer in force from"), null=True, blank=True)

    class Meta:
        ordering = ["issued_on", "number"]
        verbose_name = _("legal instrument")
        verbose_name_plural = _("legal instruments")

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"


class TermsLegalBasis(models.Model):
    """One legal basis of a procedure's terms, in the order the documents cite them."""

    terms = models.ForeignKey("CaseTypeTerms", on_delete=models.CASCADE, related_name="bases")
    instrument = models.ForeignKey(LegalInstrument, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("legal instrument"))
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["terms", "position", "id"]
        verbose_name = _("legal basis")
        verbose_name_plural = _("legal bases")
        constraints = [models.UniqueConstraint(fields=["terms", "instrument"], name="terms_basis_once")]

    def __str__(self) -> str:
        return str(self.instrument)


class CaseTypeAgency(models.Model):
    """Which agency is competent for a procedure or inspection type, from a date to a date. A dossier received
    on a day goes to the agency competent that day; a reorganisation ends one row and starts its successor's."""

    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="competences",
                                  verbose_name=_("type"))
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="competences",
                               verbose_name=_("agency"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["case_type", "valid_from", "agency"]
        verbose_name = _("competence")
        verbose_name_plural = _("competences")
        constraints = [
            models.UniqueConstraint(fields=["case_type", "agency", "valid_from"], name="competence_once"),
            models.CheckConstraint(condition=models.Q(valid_to__isnull=True)
                                   | models.Q(valid_to__gte=models.F("valid_from")),
                                   name="competence_dates_in_order"),
        ]

    def __str__(self) -> str:
        return f"{self.case_type.code} → {self.agency} ({self.valid_from}–{self.valid_to or ''})"


class CalendarDay(models.Model):
    """What the holidays package lacks: an extra day off, or a make-up working day."""

    class Kind(models.TextChoices):
        DAY_OFF = "day_off", _("Day off")
        WORKING_DAY = "working_day", _("Make-up working day")

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class Sequence(models.Model):
    """Gap-free counters (references, document numbers), one row per key per year, taken under lock."""

    key = models.CharField(max_length=60)
    year = models.PositiveSmallIntegerField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "year"], name="sequence_key_year")]

    def __str__(self) -> str:
        return f"{self.key}/{self.year}: {self.last_value}"


# --- Case ----------------------------------------------------------------------------------------


class CaseQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if "state" in kwargs and not _state_write_allowed.get():
            raise ProtectedStateError("Case.state changes only through a workflow transition.")
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        if "state" in fields and not _state_write_allowed.get():
            raise ProtectedStateError("Case.state changes only through a workflow transition.")
        return super().bulk_update(objs, fields, *args, **kwargs)


class Case(models.Model):
    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference number"), max_length=40, unique=True, editable=False)
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="cases", verbose_name=_("type"))
    # The agency that holds the case: competent on the receipt date, or its successor after a transfer.
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="cases",
                               verbose_name=_("agency"), editable=False)
    terms = models.ForeignKey(CaseTypeTerms, on_delete=models.PROTECT, related_name="cases", editable=False)
    state = ProtectedStateField(_("state"), max_length=30, choices=State.choices, editable=False)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    subject_name = models.CharField(_("subject (organisation or site)"), max_length=300)
    subject_address = models.CharField(_("subject address"), max_length=500, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    data = models.JSONField(_("dossier data"), default=dict, blank=True)

    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="assigned_cases", verbose_name=_("assignee"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="member_cases", verbose_name=_("team members"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_cases", editable=False,
    )

    received_at = models.DateTimeField(_("received at"))
    due_at = models.DateTimeField(_("due at"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True, editable=False)
    outcome_reasons = models.TextField(_("reasons"), blank=True, editable=False)
    proposal = models.CharField(_("officer's proposal"), max_length=10, blank=True, editable=False)
    # The head's written note on the decision; required when the decision goes against the officer's proposal.
    decision_note = models.TextField(_("decision note"), blank=True, editable=False)
    decided_against_proposal = models.BooleanField(_("decided against the proposal"), default=False, editable=False)
    result_number = models.CharField(_("result number"), max_length=40, blank=True, editable=False)

    # The deadline clock: counting (re)starts at clock_started_at; clock_used is what earlier
    # segments consumed (seconds for hour limits, days for day limits); paused_at is set while paused.
    clock_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    clock_used = models.PositiveIntegerField(default=0, editable=False)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    overdue_flagged_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by an apology letter: the case missed its legal deadline even though due_at now holds the new date.
    apologised_at = models.DateTimeField(_("apologised for lateness at"), null=True, blank=True, editable=False)
    intake_completed_at = models.DateTimeField(null=True, blank=True, editable=False)

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            # A filtered list's first page is read in index order: type, state, newest first.
            models.Index(fields=["case_type", "state", "-received_at", "-id"], name="case_type_state_recv_idx"),
            models.Index(fields=["case_type", "received_at", "id"], name="case_type_recv_idx"),  # type + period
            models.Index(fields=["case_type", "decided_at"], name="case_type_decided_idx"),
            models.Index(fields=["received_at", "id"], name="case_received_id_idx"),
            # Officers' desks, and each officer's open load per type at intake (read from the index alone).
            models.Index(fields=["assignee", "state", "case_type"], name="case_assignee_state_type_idx"),
            models.Index(fields=["state", "due_at"], name="case_state_due_idx"),  # overdue, due soon
            # One agency's lists in an installation holding several agencies: the agency first, so that a user of
            # one agency never reads the others' rows (bench/agencies.py: type + state counts 528 → 7 ms).
            # With the type in the index, a domain's list (an officer's: licensing only) counts from the index alone
            # (bench.lists, officer's cases received in a quarter: count 28 → 3.6 ms).
            models.Index(fields=["agency", "-received_at", "-id"], include=["case_type"],
                         name="case_agency_recv_type_idx"),
            models.Index(fields=["agency", "case_type", "state", "-received_at", "-id"],
                         name="case_agency_type_state_idx"),
            models.Index(fields=["agency", "state", "due_at"], name="case_agency_state_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(state__in=State.values), name="case_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.subject_name}"

    def refresh_from_db(self, *args, **kwargs):
        with state_write_allowed():
            super().refresh_from_db(*args, **kwargs)

    @property
    def domain(self) -> str:
        return self.case_type.domain

    @property
    def is_overdue(self) -> bool:
        from .workflow import CLOCK_RUNNING

        # A due time is a minute: a case due at 17:00 is late from 17:01:00 on.
        return bool(self.due_at and self.state in CLOCK_RUNNING and self.due_at < minute_floor(timezone.now()))


def minute_floor(moment):
    """The start of the minute of `moment`. Due times are read to the minute: something is late only once the due
    minute has passed, i.e. when due_at < minute_floor(moment)."""
    return moment.replace(second=0, microsecond=0)


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Timeline events are never edited.")

    def delete(self):
        raise PermissionError("Timeline events are never deleted.")


class CaseEvent(models.Model):
    """One line of a case's timeline, written in the same transaction as the change it records."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        TRANSITION = "transition", _("Transition")
        ASSIGNMENT = "assignment", _("Assignment")
        NOTE = "note", _("Note")
        ATTACHMENT = "attachment", _("Attachment")
        DUE_DATE = "due_date", _("Due date change")
        OVERDUE = "overdue", _("Became overdue")
        INTAKE = "intake", _("Intake")
        DOSSIER = "dossier", _("Dossier changed")
        DOCUMENT = "document", _("Document issued")
        NOTIFICATION = "notification", _("Applicant notified")
        ISSUE_FAILED = "issue_failed", _("Result could not be issued")
        TRANSFER = "transfer", _("Transferred to another agency")
        IMPORTED = "imported", _("Imported from a past register")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    action = models.CharField(_("action"), max_length=40, blank=True)
    from_state = models.CharField(max_length=30, blank=True)
    to_state = models.CharField(max_length=30, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    # Client-made id of the request that wrote this event (notes): a retried request finds it.
    request_uuid = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        indexes = [models.Index(fields=["case", "at"], name="event_case_at_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.action} @ {self.at}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Timeline events are never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Timeline events are never deleted.")


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    # Generated name: nothing of the uploader's file name reaches the file system.
    now = timezone.now()
    return f"cases/{now:%Y/%m}/{instance.uuid}{instance.extension}"


class Attachment(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to=attachment_upload_to, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=100)
    extension = models.CharField(max_length=10)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    description = models.CharField(_("description"), max_length=300, blank=True)
    # What the file is in the dossier (e.g. "manuscript"); the domain apps check required kinds.
    kind = models.SlugField(_("document kind"), max_length=40, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            # The same file sent twice to one case is stored once.
            models.UniqueConstraint(fields=["case", "sha256"], name="attachment_once_per_case"),
        ]

    def __str__(self) -> str:
        return self.original_name
