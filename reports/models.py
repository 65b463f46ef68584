from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseType


class CaseContribution(models.Model):
    """The cells one case adds to the quarterly tables, as last applied to QuarterCell: {"2019-Q4:results@3": 1},
    each cell in the tables of the agency that held the case at that quarter's end (reports/contributions.py)."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, primary_key=True, related_name="contribution")
    cells = models.JSONField(default=dict)
    until = models.CharField(max_length=8)  # the last quarter the cells were computed for, e.g. "2020-Q1"
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("case contribution")
        verbose_name_plural = _("case contributions")

    def __str__(self) -> str:
        return f"{self.case_id}: {len(self.cells)} cells"


class QuarterCell(models.Model):
    """One number of one agency's quarterly tables, kept up to date from the case contributions."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField()
    metric = models.CharField(max_length=20)
    value = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("quarter figure")
        verbose_name_plural = _("quarter figures")
        constraints = [
            models.UniqueConstraint(fields=["year", "quarter", "agency", "case_type", "metric"],
                                    name="quarter_cell_once_per_agency"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-Q{self.quarter} agency {self.agency_id} {self.case_type_id} {self.metric}={self.value}"


class ClosedQuarterQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The figures of a closed quarter are never changed.")

    def delete(self):
        raise PermissionError("The figures of a closed quarter are never deleted.")


class ClosedQuarter(models.Model):
    """One agency's figures of an ended quarter, frozen when it ended (the quarter's rollover, or the nightly check's
    catch-up): a rebuild from the cases as they stood at the quarter's end. Written once, never changed; the check
    compares it with a fresh rebuild, and a difference is drift to be explained, not repaired."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField()
    # {"<case type id>:<metric>": value}, the non-zero cells of the licensing case types
    cells = models.JSONField(default=dict)
    frozen_at = models.DateTimeField()

    objects = ClosedQuarterQuerySet.as_manager()

    class Meta:
        ordering = ["year", "quarter", "agency"]
        verbose_name = _("closed quarter")
        verbose_name_plural = _("closed quarters")
        constraints = [models.UniqueConstraint(fields=["year", "quarter", "agency"],
                                               name="closed_quarter_once_per_agency")]

    def __str__(self) -> str:
        return f"{self.year}-Q{self.quarter} of agency {self.agency_id} frozen at {self.frozen_at}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("The figures of a closed quarter are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The figures of a closed quarter are never deleted.")


class ReportCheck(models.Model):
    """A comparison of the kept figures with a rebuild from the cases (beat job, `manage.py figures_check`).

    mismatches: kept cell ≠ rebuilt cell, [{"agency", "agency_code", "case_type", "code", "cell", "quarter", "metric",
    "kept", "rebuilt"}]; `repaired` when the kept cells and contributions were rebuilt from the cases.
    closed_quarters_compared: the agencies' closed quarters compared, ["2019-Q4@thai-binh-stttt"].
    drift: in a closed quarter, frozen cell ≠ rebuilt cell, [{... "frozen", "rebuilt", "kept"}]; never repaired.
    contribution_mismatches: cases whose kept contribution differs from their rebuilt cells in the quarters checked
    (the first 100; `contributions_mismatched` counts them all)."""

    checked_at = models.DateTimeField(auto_now_add=True)
    quarters = models.JSONField(default=list)
    cells_compared = models.PositiveIntegerField(default=0)
    mismatches = models.JSONField(default=list)
    repaired = models.BooleanField(default=False)
    closed_quarters_compared = models.JSONField(default=list)
    drift = models.JSONField(default=list)
    contributions_mismatched = models.PositiveIntegerField(default=0)
    contribution_mismatches = models.JSONField(default=list)

    class Meta:
        ordering = ["-checked_at"]
        verbose_name = _("report check")
        verbose_name_plural = _("report checks")

    def __str__(self) -> str:
        return f"{self.checked_at}: {len(self.mismatches)} mismatches, {len(self.drift)} drifted"


class ExportJob(models.Model):
    """A large export (all fields of the cases of a period) written by a worker, row by row."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    request_uuid = models.UUIDField(unique=True, null=True, blank=True)
    format = models.CharField(max_length=10)
    received_from = models.DateTimeField()
    received_to = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/%Y/", max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("export job")
        verbose_name_plural = _("export jobs")

    def __str__(self) -> str:
        return f"export {self.pk} {self.format} {self.status}"


# --- The periodic report document (issue 14): a case of the "report" domain with its sections and indicators -------


class ReportDivision(models.Model):
    """A division of an agency that writes part of its periodic report (Phòng CNTT, Phòng BCVT, Thanh tra Sở, Văn
    phòng): its members edit the sections and enter the indicators the division answers for. Data an administrator
    keeps (Reports → Report divisions): who sits in which division is not a role of the engine."""

    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="report_divisions",
                               verbose_name=_("agency"))
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="report_divisions",
                                     verbose_name=_("members"))
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["agency", "order", "code"]
        verbose_name = _("report division")
        verbose_name_plural = _("report divisions")
        constraints = [models.UniqueConstraint(fields=["agency", "code"], name="report_division_once")]

    def __str__(self) -> str:
        return self.name


class Report(models.Model):
    """One periodic report of an agency (a quarter, six months or a year): its case carries the workflow and the
    timeline; the report holds what is printed. `frozen` is the whole printed content, stored when it was issued:
    an issued report is rendered from it alone (reports/report_document.py)."""

    class Kind(models.TextChoices):
        QUARTER = "quarter", _("Quarter")
        HALF = "half", _("Six months")
        YEAR = "year", _("Year")

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="report")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("agency"))
    period = models.CharField(_("period"), max_length=10, help_text="2019-Q4, 2020-H1, 2020")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    summary = models.CharField(_("summary (trích yếu)"), max_length=500)
    recipients = models.JSONField(_("recipients (Nơi nhận)"), default=list)
    number = models.PositiveIntegerField(_("number"), null=True, blank=True, editable=False)
    number_text = models.CharField(_("number and symbol"), max_length=40, blank=True, editable=False)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True, editable=False)
    frozen = models.JSONField(_("issued content"), null=True, blank=True, editable=False)
    docx_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # The signed PDF of the issued report (issue 15): its public verification code (documents/).
    verification_code = models.CharField(max_length=20, blank=True, editable=False)
    pdf = models.FileField(upload_to="reports/issued/%Y/", max_length=200, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period", "agency"]
        verbose_name = _("periodic report")
        verbose_name_plural = _("periodic reports")
        constraints = [models.UniqueConstraint(fields=["agency", "period"], name="report_once_per_period")]

    def __str__(self) -> str:
        return f"{self.period} {self.agency_id} {self.number_text}"


class ReportSection(models.Model):
    """A written part of a report (I.1–I.4, III), by its responsible division. Paragraphs are lines of `text`.
    `version` goes up at each edit: an edit made on an older version is refused (a conflict), never merged."""

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="sections")
    code = models.CharField(_("section"), max_length=10)
    heading = models.CharField(_("heading"), max_length=300)
    order = models.PositiveSmallIntegerField(default=0)
    division = models.ForeignKey(ReportDivision, on_delete=models.PROTECT, related_name="sections",
                                 verbose_name=_("division"))
    text = models.TextField(_("text"), blank=True)
    version = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["report", "order"]
        verbose_name = _("report section")
        verbose_name_plural = _("report sections")
        constraints = [models.UniqueConstraint(fields=["report", "code"], name="report_section_once")]

    def __str__(self) -> str:
        return f"{self.report_id} {self.code}"


class ReportSectionVersion(models.Model):
    """Every text a section held, in order (version 1 is the first text: empty, or the service's draft)."""

    section = models.ForeignKey(ReportSection, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    note = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["section", "version"]
        constraints = [models.UniqueConstraint(fields=["section", "version"], name="report_section_version_once")]

    def __str__(self) -> str:
        return f"{self.section_id} v{self.version}"


class Indicator(models.Model):
    """One line of section II (Hoạt động sự nghiệp và dịch vụ): catalogue data (reports/data/indicators.json, kept in
    the admin). A child is printed under its parent: on its own row without a number, or, for a parent with
    `children_inline`, inside the parent's row ("- Cấp tỉnh, huyện"). A hidden indicator (population) is only used
    by another's note. Note rules: `share_of` prints `note_text` with {share} = value / note_of × 100 rounded;
    `per_100` prints it with {per100} = value / note_of × 100 to one decimal (per 100 inhabitants)."""

    class NoteRule(models.TextChoices):
        NONE = "", _("None")
        SHARE_OF = "share_of", _("Share of another indicator (%)")
        PER_100 = "per_100", _("Per 100 of another indicator (inhabitants)")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=400)
    unit = models.CharField(_("unit"), max_length=60, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children",
                               verbose_name=_("parent"))
    children_inline = models.BooleanField(_("children printed inside this row"), default=False)
    shown = models.BooleanField(_("printed in the table"), default=True)
    division_code = models.SlugField(_("responsible division"), max_length=40, blank=True)
    compute = models.CharField(_("computed by the service"), max_length=40, blank=True,
                               help_text="documents_signed")
    note_rule = models.CharField(_("note rule"), max_length=20, choices=NoteRule.choices, blank=True)
    note_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                verbose_name=_("note relative to"))
    note_text = models.CharField(_("note text"), max_length=200, blank=True,
                                 help_text="= {share}% số VB gửi liên thông; {per100} TB/100 dân")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")

    def __str__(self) -> str:
        return self.name


class IndicatorValue(models.Model):
    """An indicator's value for one agency and period, entered by a user or imported from a file."""

    class Source(models.TextChoices):
        ENTERED = "entered", _("Entered")
        IMPORTED = "imported", _("Imported")

    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="values")
    agency = models.ForeignKey("agencies.Agency", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("period"), max_length=10)
    value = models.BigIntegerField(_("value"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    entered_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["period", "indicator"]
        verbose_name = _("indicator value")
        verbose_name_plural = _("indicator values")
        constraints = [models.UniqueConstraint(fields=["indicator", "agency", "period"],
                                               name="indicator_value_once")]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.period} = {self.value}"
