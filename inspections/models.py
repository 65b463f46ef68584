"""Inspection campaigns: the establishment registry, checklists, targets, findings and photos from the tablets,
outcomes (violation record → sanction decision → follow-up) and the documents rendered from them.

A campaign is a case of the "inspection" domain (cases.Case): its state, lead (assignee), team (members) and
timeline live there; this app keeps what only inspections have.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseType

LATITUDE_VALIDATORS = [MinValueValidator(-90), MaxValueValidator(90)]
LONGITUDE_VALIDATORS = [MinValueValidator(-180), MaxValueValidator(180)]


def _position_constraints(model: str) -> list[models.CheckConstraint]:
    """Latitude and longitude in range, and both or neither."""
    return [
        models.CheckConstraint(condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                               name=f"{model}_latitude_range"),
        models.CheckConstraint(condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                               name=f"{model}_longitude_range"),
        models.CheckConstraint(condition=Q(latitude__isnull=True, longitude__isnull=True)
                               | Q(latitude__isnull=False, longitude__isnull=False),
                               name=f"{model}_position_complete"),
    ]


# --- Registry --------------------------------------------------------------------------------------------


class Establishment(models.Model):
    """A place that can be inspected: operator branches and points of sale, BTS sites, print and photocopy
    shops, Internet agents, publication distributors, equipment retailers. Each agency keeps its own registry; a
    successor reads its predecessors' entries and may inspect them."""

    class Kind(models.TextChoices):
        OPERATOR_BRANCH = "operator_branch", _("Telecom operator branch")
        POINT_OF_SALE = "point_of_sale", _("Point of sale")
        BTS_SITE = "bts_site", _("BTS site")
        PRINT_SHOP = "print_shop", _("Print shop")
        PHOTOCOPY_SHOP = "photocopy_shop", _("Photocopy shop")
        INTERNET_AGENT = "internet_agent", _("Internet agent")
        PUBLICATION_DISTRIBUTOR = "publication_distributor", _("Publication distributor")
        EQUIPMENT_RETAILER = "equipment_retailer", _("Equipment retailer")

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="establishments",
                               verbose_name=_("agency"))
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=300)
    address = models.CharField(_("address"), max_length=500)
    # The commune or ward (xã, phường, thị trấn, đặc khu): filled from the address when not given.
    commune = models.CharField(_("commune"), max_length=100, blank=True, db_index=True)
    operator = models.CharField(_("operator"), max_length=100, blank=True,
                                help_text=_("Telecom operator (Viettel, VNPT, MobiFone...) for branches, points of "
                                            "sale and BTS sites."))
    site_code = models.CharField(_("site code"), max_length=50, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True,
                                   validators=LATITUDE_VALIDATORS)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True,
                                    validators=LONGITUDE_VALIDATORS)
    representative = models.CharField(_("representative"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    print_facility = models.ForeignKey("licensing.PrintFacility", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="establishments", verbose_name=_("print facility (licensing)"))
    organisation = models.ForeignKey("licensing.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="establishments", verbose_name=_("organisation (licensing)"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name", "id"]
        verbose_name = _("establishment")
        verbose_name_plural = _("establishments")
        indexes = [models.Index(fields=["kind", "name"], name="establishment_kind_name_idx")]
        constraints = [
            *_position_constraints("establishment"),
            models.UniqueConstraint(fields=["agency", "operator", "site_code"], condition=~Q(site_code=""),
                                    name="establishment_site_code_once_per_agency"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


# Which establishments each inspection type looks at (DESIGN.md, Inspections).
TYPE_KINDS: dict[str, frozenset[str]] = {
    "prepaid_sim": frozenset({Establishment.Kind.OPERATOR_BRANCH, Establishment.Kind.POINT_OF_SALE}),
    "internet_service": frozenset({Establishment.Kind.INTERNET_AGENT, Establishment.Kind.OPERATOR_BRANCH}),
    "bts_station": frozenset({Establishment.Kind.BTS_SITE}),
    "publication_distribution": frozenset({Establishment.Kind.PUBLICATION_DISTRIBUTOR}),
    "printing": frozenset({Establishment.Kind.PRINT_SHOP, Establishment.Kind.PHOTOCOPY_SHOP}),
    "conformity_labelling": frozenset({Establishment.Kind.EQUIPMENT_RETAILER, Establishment.Kind.POINT_OF_SALE,
                                       Establishment.Kind.OPERATOR_BRANCH}),
}


# --- Checklists ------------------------------------------------------------------------------------------


class ChecklistTemplate(models.Model):
    """The questions of one inspection type from a date on. A change is a new version; a campaign keeps the
    version it started with."""

    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="checklist_templates",
                                  limit_choices_to={"domain": "inspection"}, verbose_name=_("inspection type"))
    version = models.PositiveSmallIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=300)
    effective_from = models.DateField(_("effective from"))
    sanction_basis = models.CharField(_("sanctions decree"), max_length=300, blank=True,
                                      help_text=_("The decree on administrative sanctions in force for this version."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_type", "-effective_from", "-version"]
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        constraints = [
            models.UniqueConstraint(fields=["case_type", "version"], name="checklist_version_once"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class ChecklistItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField(_("order"))
    code = models.SlugField(_("code"), max_length=50)
    question = models.TextField(_("question"))
    legal_reference = models.CharField(_("legal reference"), max_length=500, blank=True)
    photo_required = models.BooleanField(_("photo required"), default=False,
                                         help_text=_("A finding on this item (other than not applicable) needs a "
                                                     "photo before the visit's outcome is recorded."))
    # Field review (issue 17): an item that only asks for a photo (e.g. "the shop front") has no compliant /
    # violation answer: its finding's result is "photo".
    photo_only = models.BooleanField(_("photo only"), default=False,
                                     help_text=_("The item asks only for a photo, not for a compliant / violation "
                                                 "answer."))

    class Meta:
        ordering = ["template", "order", "id"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="checklist_item_code_once"),
            models.UniqueConstraint(fields=["template", "order"], name="checklist_item_order_once"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.question[:60]}"


# --- Campaigns and targets -------------------------------------------------------------------------------


class Campaign(models.Model):
    """What an inspection case has besides the engine's fields. Lead = case.assignee, team = case.members."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="campaign")
    legal_basis = models.TextField(_("legal basis"))
    scope = models.TextField(_("scope"), blank=True)
    period_start = models.DateField(_("planned start"))
    period_end = models.DateField(_("planned end"))
    checklist = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="campaigns",
                                  verbose_name=_("checklist version"))
    # The decision to inspect ("Số: 12/QĐ-STTTT"), numbered when the campaign is announced.
    decision_year = models.PositiveSmallIntegerField(_("decision year"), null=True, blank=True, editable=False)
    decision_number = models.PositiveIntegerField(_("decision number"), null=True, blank=True, editable=False)
    decision_number_text = models.CharField(_("decision"), max_length=40, blank=True, editable=False)
    # The agency that numbered the decision (numbers run per agency), set with the number.
    decision_issuer = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, null=True, blank=True,
                                        editable=False, related_name="+", verbose_name=_("decision issued by"))
    announced_at = models.DateTimeField(_("announced at"), null=True, blank=True, editable=False)
    conclusion = models.TextField(_("conclusion"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "-id"]
        verbose_name = _("inspection campaign")
        verbose_name_plural = _("inspection campaigns")
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="campaign_period_ordered"),
            models.UniqueConstraint(fields=["decision_issuer", "decision_year", "decision_number_text"],
                                    condition=Q(decision_number__isnull=False),
                                    name="campaign_decision_once_per_issuer"),
        ]

    def __str__(self) -> str:
        return f"{self.case.reference} {self.case.subject_name}"

    @property
    def title(self) -> str:
        return self.case.subject_name


class Outcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    COMPLIANT = "compliant", _("Compliant")
    REMINDER = "reminder", _("Reminder (not a sanction)")
    VIOLATION = "violation", _("Violation")


class Target(models.Model):
    """One establishment visited in a campaign, by the team members assigned to it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="targets")
    establishment = models.ForeignKey(Establishment, on_delete=models.PROTECT, related_name="targets")
    inspectors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="inspection_targets",
                                        verbose_name=_("assigned inspectors"))
    planned_on = models.DateField(_("planned visit date"), null=True, blank=True)
    visited_at = models.DateTimeField(_("visited at"), null=True, blank=True, editable=False,
                                      help_text=_("Device time of the first finding."))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_note = models.TextField(_("outcome note"), blank=True)
    outcome_at = models.DateTimeField(_("outcome recorded at"), null=True, blank=True, editable=False)
    outcome_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "planned_on", "id"]
        verbose_name = _("inspection target")
        verbose_name_plural = _("inspection targets")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "establishment"], name="target_once_per_campaign"),
            models.CheckConstraint(condition=Q(outcome="pending") | Q(outcome_at__isnull=False),
                                   name="target_outcome_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.establishment.name}"


# --- Findings and photos from the tablets ----------------------------------------------------------------


class Finding(models.Model):
    """The answer to one checklist item at one target, made on a tablet under an id the tablet chose.

    Findings are never changed: a correction is a new finding on the same item, and the latest device time
    counts. `fingerprint` is the hash of the content, so a resent finding is recognised as the same.
    """

    class Result(models.TextChoices):
        COMPLIANT = "compliant", _("Compliant")
        VIOLATION = "violation", _("Violation")
        NOT_APPLICABLE = "not_applicable", _("Not applicable")
        PHOTO = "photo", _("Photo taken")  # the only answer of a photo-only item

    class Review(models.TextChoices):
        """The lead's review of a submission, as ODK Central's review states: received → accepted / needs
        correction / rejected. A correction is a new finding, received again."""
        RECEIVED = "received", _("Received")
        ACCEPTED = "accepted", _("Accepted")
        NEEDS_CORRECTION = "needs_correction", _("Needs correction")
        REJECTED = "rejected", _("Rejected")

    id = models.UUIDField(primary_key=True, editable=False)
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="findings")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="findings")
    result = models.CharField(_("result"), max_length=20, choices=Result.choices)
    note = models.TextField(_("note"), blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True,
                                   validators=LATITUDE_VALIDATORS)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True,
                                    validators=LONGITUDE_VALIDATORS)
    accuracy = models.DecimalField(_("position accuracy (m)"), max_digits=8, decimal_places=1, null=True,
                                   blank=True, validators=[MinValueValidator(0)])
    device_time = models.DateTimeField(_("time on the device"))
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="findings",
                                  verbose_name=_("inspector"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)
    fingerprint = models.CharField(max_length=64, editable=False)
    # Field review (issue 17). Not part of the fingerprint: the review is the lead's, the content the inspector's.
    review_state = models.CharField(_("review"), max_length=20, choices=Review.choices, default=Review.RECEIVED,
                                    editable=False)
    review_note = models.TextField(_("review note"), blank=True, editable=False)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", editable=False)

    class Meta:
        ordering = ["target", "device_time", "received_at"]
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        indexes = [models.Index(fields=["target", "item", "device_time"], name="finding_target_item_idx")]
        constraints = [
            *_position_constraints("finding"),
            models.CheckConstraint(condition=Q(accuracy__isnull=True) | Q(accuracy__gte=0),
                                   name="finding_accuracy_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.result}"


def photo_upload_to(instance: "Photo", filename: str) -> str:
    # Generated name: nothing the tablet sent reaches the file system.
    now = timezone.now()
    return f"inspections/photos/{now:%Y/%m}/{instance.id}.jpg"


def thumbnail_upload_to(instance: "Photo", filename: str) -> str:
    now = timezone.now()
    return f"inspections/thumbnails/{now:%Y/%m}/{instance.id}.jpg"


class Photo(models.Model):
    """A photo of a finding, re-encoded as JPEG without its metadata; the same content is stored once."""

    id = models.UUIDField(primary_key=True, editable=False)
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="photos")
    sha256 = models.CharField(_("SHA-256 of the file sent"), max_length=64)
    file = models.FileField(upload_to=photo_upload_to, max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("size (bytes)"))
    thumbnail = models.FileField(upload_to=thumbnail_upload_to, max_length=200, blank=True, editable=False)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)
    # What the camera wrote in the original's EXIF, read by the tablet before it scales the photo down (the
    # stored JPEG carries no metadata): when and where the photo was taken (issue 17, item 8).
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    taken_latitude = models.DecimalField(_("latitude taken at"), max_digits=9, decimal_places=6, null=True,
                                         blank=True, validators=LATITUDE_VALIDATORS)
    taken_longitude = models.DecimalField(_("longitude taken at"), max_digits=9, decimal_places=6, null=True,
                                          blank=True, validators=LONGITUDE_VALIDATORS)

    class Meta:
        ordering = ["finding", "received_at", "id"]
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        constraints = [
            models.UniqueConstraint(fields=["finding", "sha256"], name="photo_once_per_finding"),
        ]

    def __str__(self) -> str:
        return str(self.id)


# --- Sanctions catalogue (issue 17) ----------------------------------------------------------------------


class OffenderKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    ORGANISATION = "organisation", _("Organisation")


class SanctionDecree(models.Model):
    """A decree on administrative sanctions (or one that amends such a decree), in force from `effective_from` to
    `effective_to` (inclusive; empty: still in force). Loaded from inspections/data/sanctions_catalogue.json."""

    code = models.CharField(_("code"), max_length=40, unique=True)  # "ND15/2020"
    number_text = models.CharField(_("number"), max_length=60)  # "15/2020/NĐ-CP"
    title = models.CharField(_("title"), max_length=500)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    amends = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="amendments",
                               verbose_name=_("amends"))
    # Whose fines the decree states: the other kind's range follows from it (an organisation's is double an
    # individual's: Luật Xử lý vi phạm hành chính 2012, Điều 24 khoản 2; each decree's Điều 4 says which it states).
    fines_stated_for = models.CharField(_("fines stated for"), max_length=20, choices=OffenderKind.choices)
    source = models.TextField(_("source of the figures"), blank=True)

    class Meta:
        ordering = ["effective_from", "code"]
        verbose_name = _("sanctions decree")
        verbose_name_plural = _("sanctions decrees")

    def __str__(self) -> str:
        return f"Nghị định {self.number_text}"


class SanctionProvision(models.Model):
    """One article / clause / point of a decree: the behaviour it sanctions, the fine as the decree states it, and
    the remedial measures; in force from `valid_from` to `valid_to` (an amendment ends one row and starts another)."""

    decree = models.ForeignKey(SanctionDecree, on_delete=models.PROTECT, related_name="provisions",
                               verbose_name=_("decree"))
    amended_by = models.ForeignKey(SanctionDecree, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="amended_provisions", verbose_name=_("as amended by"))
    key = models.CharField(_("key"), max_length=80, unique=True)
    article = models.PositiveSmallIntegerField(_("article"))
    clause = models.PositiveSmallIntegerField(_("clause"), null=True, blank=True)
    point = models.CharField(_("point"), max_length=4, blank=True)
    text = models.TextField(_("behaviour sanctioned"))
    fine_min_vnd = models.PositiveBigIntegerField(_("minimum fine as stated (VND)"))
    fine_max_vnd = models.PositiveBigIntegerField(_("maximum fine as stated (VND)"))
    remedial_measures = models.TextField(_("remedial measures"), blank=True)
    inspection_types = models.JSONField(_("inspection types"), default=list, blank=True)
    valid_from = models.DateField(_("in force from"))
    valid_to = models.DateField(_("in force to"), null=True, blank=True)
    source = models.TextField(_("source"), blank=True)
    checked = models.BooleanField(_("checked against the official text"), default=False)

    class Meta:
        ordering = ["decree__effective_from", "article", "clause", "point", "id"]
        verbose_name = _("sanction provision")
        verbose_name_plural = _("sanction provisions")
        constraints = [
            models.CheckConstraint(condition=Q(fine_min_vnd__gt=0) & Q(fine_max_vnd__gte=models.F("fine_min_vnd")),
                                   name="provision_fine_range_ordered"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                                   name="provision_validity_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.citation} – {self.text[:60]}"

    @property
    def citation(self) -> str:
        parts = []
        if self.point:
            parts.append(f"điểm {self.point}")
        if self.clause:
            parts.append(f"khoản {self.clause}")
        parts.append(f"Điều {self.article}")
        text = " ".join(parts) + f" Nghị định {self.decree.number_text}"
        if self.amended_by_id:
            text += f" (sửa đổi, bổ sung bởi Nghị định {self.amended_by.number_text})"
        return text

    def fine_range(self, offender_kind: str) -> tuple[int, int]:
        """The range for an individual or an organisation: an organisation's is double an individual's."""
        stated = (self.fine_min_vnd, self.fine_max_vnd)
        if self.decree.fines_stated_for == offender_kind:
            return stated
        if offender_kind == OffenderKind.ORGANISATION:
            return stated[0] * 2, stated[1] * 2
        return stated[0] // 2, stated[1] // 2


# --- Violations, sanctions, follow-up --------------------------------------------------------------------


class ViolationRecord(models.Model):
    """Biên bản vi phạm hành chính ("01/BB-VPHC"), numbered gap-free per calendar year of the record."""

    target = models.OneToOneField(Target, on_delete=models.PROTECT, related_name="violation")
    # The agency whose inspectors drew it up and numbered it (numbers run per agency); empty only for rows written
    # outside the services.
    issuer = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, null=True, blank=True, editable=False,
                               related_name="+", verbose_name=_("issued by"))
    year = models.PositiveSmallIntegerField(_("year"), editable=False)
    number = models.PositiveIntegerField(_("number"), editable=False)
    number_text = models.CharField(_("record number"), max_length=40, editable=False)
    description = models.TextField(_("violation"))
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # Issue 17: the offender and the provisions violated, chosen from the catalogue in force on `committed_on`.
    offender_kind = models.CharField(_("offender"), max_length=20, choices=OffenderKind.choices, blank=True)
    offender_name = models.CharField(_("offender's name"), max_length=300, blank=True)
    committed_on = models.DateField(_("day of the violation"), null=True, blank=True)
    provisions = models.ManyToManyField(SanctionProvision, through="ViolationProvision", blank=True,
                                        related_name="violations", verbose_name=_("provisions violated"))

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("violation record")
        verbose_name_plural = _("violation records")
        constraints = [models.UniqueConstraint(fields=["issuer", "year", "number"],
                                               name="violation_record_number_once_per_issuer")]

    def __str__(self) -> str:
        return self.number_text


class ViolationProvision(models.Model):
    """A provision a violation record cites, and the fine the sanction decision sets for it (empty until
    then)."""

    violation = models.ForeignKey(ViolationRecord, on_delete=models.CASCADE, related_name="cited")
    provision = models.ForeignKey(SanctionProvision, on_delete=models.PROTECT, related_name="+")
    fine_vnd = models.PositiveBigIntegerField(_("fine (VND)"), null=True, blank=True)

    class Meta:
        ordering = ["violation", "provision__article", "provision__clause", "provision__point", "id"]
        verbose_name = _("provision violated")
        verbose_name_plural = _("provisions violated")
        constraints = [models.UniqueConstraint(fields=["violation", "provision"], name="violation_provision_once")]

    def __str__(self) -> str:
        return f"{self.violation_id} → {self.provision_id}"


class SanctionDecision(models.Model):
    """The decision on a violation record, due within 7 working days of the record; undecided until then."""

    violation = models.OneToOneField(ViolationRecord, on_delete=models.PROTECT, related_name="sanction")
    due_at = models.DateTimeField(_("decision due at"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    # The agency that decided and numbered it (numbers run per agency), set with the number.
    issuer = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, null=True, blank=True, editable=False,
                               related_name="+", verbose_name=_("issued by"))
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True, editable=False)
    number = models.PositiveIntegerField(_("number"), null=True, blank=True, editable=False)
    number_text = models.CharField(_("decision number"), max_length=40, blank=True, editable=False)
    fine_vnd = models.PositiveBigIntegerField(_("fine (VND)"), null=True, blank=True)
    remedial_measures = models.TextField(_("remedial measures"), blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("sanction decision")
        verbose_name_plural = _("sanction decisions")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "year", "number"], condition=Q(number__isnull=False),
                                    name="sanction_number_once_per_issuer"),
            # Undecided: no number, no fine. Decided: a number and a positive fine.
            models.CheckConstraint(
                condition=(Q(decided_at__isnull=True, number__isnull=True, fine_vnd__isnull=True)
                           | Q(decided_at__isnull=False, number__isnull=False, fine_vnd__gt=0)),
                name="sanction_decided_complete",
            ),
        ]

    def __str__(self) -> str:
        return self.number_text or f"{self.violation} → ?"

    @property
    def is_overdue(self) -> bool:
        return self.decided_at is None and self.due_at < timezone.now()

    @property
    def decided_late(self) -> bool:
        return self.decided_at is not None and self.decided_at > self.due_at

    # Luật Xử lý vi phạm hành chính 2012, Điều 73 khoản 1: the fine is paid within 10 days of receiving the decision
    # (counted here from the day of the decision: the day it is handed over is not recorded).
    PAYMENT_DAYS = 10

    @property
    def payment_due_on(self):
        if self.decided_at is None:
            return None
        return timezone.localtime(self.decided_at).date() + timedelta(days=self.PAYMENT_DAYS)


class FollowUp(models.Model):
    """The check that a violation was corrected by its due date."""

    violation = models.ForeignKey(ViolationRecord, on_delete=models.PROTECT, related_name="follow_ups")
    correction_due_on = models.DateField(_("correction due on"))
    note = models.TextField(_("note"), blank=True)
    done_at = models.DateTimeField(_("correction verified at"), null=True, blank=True)
    done_note = models.TextField(_("verification note"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["correction_due_on", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")

    def __str__(self) -> str:
        return f"{self.violation} → {self.correction_due_on}"


# --- Documents -------------------------------------------------------------------------------------------


class Document(models.Model):
    """A DOCX rendered by a task after commit: the visit minutes, the violation record, the conclusion."""

    class Kind(models.TextChoices):
        VISIT_MINUTES = "visit_minutes", _("Visit minutes")
        VIOLATION_RECORD = "violation_record", _("Violation record")
        CONCLUSION = "conclusion", _("Campaign conclusion")
        DECISION = "decision", _("Decision to inspect")
        SANCTION_DECISION = "sanction_decision", _("Sanction decision")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="documents")
    target = models.ForeignKey(Target, on_delete=models.PROTECT, null=True, blank=True, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    number_text = models.CharField(_("number"), max_length=40, blank=True)
    issued_at = models.DateTimeField(_("dated"))
    file = models.FileField(upload_to="inspections/documents/%Y/", max_length=200)
    sha256 = models.CharField(max_length=64)
    # Its electronic copy (issue 15): the verification code printed on it, and once signed the signed PDF.
    verifiable = models.OneToOneField("documents.VerifiableDocument", on_delete=models.PROTECT, null=True,
                                      blank=True, related_name="inspection_document", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["campaign", "kind", "id"]
        verbose_name = _("inspection document")
        verbose_name_plural = _("inspection documents")
        constraints = [
            models.UniqueConstraint(fields=["target", "kind"], condition=Q(target__isnull=False),
                                    name="inspection_document_once_per_target"),
            models.UniqueConstraint(fields=["campaign", "kind"], condition=Q(target__isnull=True),
                                    name="inspection_document_once_per_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number_text}".strip()
