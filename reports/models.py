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
