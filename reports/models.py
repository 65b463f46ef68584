from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import Case, CaseType


class CaseContribution(models.Model):
    """The cells one case adds to the quarterly tables, as last applied to QuarterCell."""

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
    """One number of the quarterly tables, kept up to date from the case contributions."""

    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    quarter = models.PositiveSmallIntegerField()
    metric = models.CharField(max_length=20)
    value = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("quarter figure")
        verbose_name_plural = _("quarter figures")
        constraints = [
            models.UniqueConstraint(fields=["year", "quarter", "case_type", "metric"], name="quarter_cell_once"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-Q{self.quarter} {self.case_type_id} {self.metric}={self.value}"


class ReportCheck(models.Model):
    """A comparison of the kept figures with a rebuild from the cases (beat job)."""

    checked_at = models.DateTimeField(auto_now_add=True)
    quarters = models.JSONField(default=list)
    cells_compared = models.PositiveIntegerField(default=0)
    mismatches = models.JSONField(default=list)
    repaired = models.BooleanField(default=False)

    class Meta:
        ordering = ["-checked_at"]
        verbose_name = _("report check")
        verbose_name_plural = _("report checks")

    def __str__(self) -> str:
        return f"{self.checked_at}: {len(self.mismatches)} mismatches"


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
