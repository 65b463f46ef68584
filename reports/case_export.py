"""Export every field of the cases of a period, streamed row by row (bounded memory at any size).

An export holds the cases its requester may read (cases.selectors.cases_visible: the agencies they work for and
those agencies' predecessors), read when it runs. Every text is cleaned and written as text, never as a formula
(reports.exports.csv_value and xlsx_value)."""

import csv
import os
import tempfile

from django.core.files import File
from django.db import transaction
from django.utils import timezone

from cases.selectors import cases_visible

from .exports import csv_value, xlsx_value
from .models import ExportJob

COLUMNS = [
    ("reference", "Số hồ sơ"), ("case_type__code", "Mã thủ tục"), ("case_type__name_vi", "Thủ tục"),
    ("state", "Trạng thái"), ("subject_name", "Tổ chức, cá nhân"), ("subject_address", "Địa chỉ"),
    ("contact_email", "Thư điện tử"), ("contact_phone", "Điện thoại"), ("summary", "Trích yếu"),
    ("assignee__username", "Người xử lý"), ("received_at", "Tiếp nhận"), ("due_at", "Hẹn trả"),
    ("decided_at", "Quyết định"), ("closed_at", "Kết thúc"), ("outcome", "Kết quả"),
    ("outcome_reasons", "Lý do"), ("result_number", "Số văn bản"), ("apologised_at", "Xin lỗi, hẹn lại"),
]
PROGRESS_EVERY = 1000


def _value(value):
    if hasattr(value, "isoformat"):
        return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")
    return "" if value is None else value


def _cases(job: ExportJob):
    return cases_visible(user=job.requested_by).filter(received_at__gte=job.received_from,
                                                       received_at__lt=job.received_to)


def _rows(job: ExportJob):
    qs = _cases(job).order_by("received_at", "id").values_list(*[name for name, _label in COLUMNS])
    for row in qs.iterator(chunk_size=2000):
        yield [_value(value) for value in row]


def export_run(*, job_id: int) -> ExportJob | None:
    """Write the job's file. A second delivery of a finished job does nothing; an interrupted one starts over."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status == ExportJob.Status.DONE:
            return None
        total = _cases(job).count()
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.RUNNING, rows_total=total, rows_done=0)
    handle, path = tempfile.mkstemp(suffix=f".{job.format}")
    os.close(handle)
    try:
        done = _write_csv(job, path) if job.format == "csv" else _write_xlsx(job, path)
        with open(path, "rb") as source:
            start, end = timezone.localtime(job.received_from), timezone.localtime(job.received_to)
            job.file.save(f"ho-so-{start:%Y%m%d}-{end:%Y%m%d}.{job.format}", File(source), save=False)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.DONE, rows_done=done, file=job.file.name,
                                                   finished_at=timezone.now())
    except Exception as exc:
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, error=str(exc)[:2000])
        raise
    finally:
        os.unlink(path)
    job.refresh_from_db()
    return job


def _progress(job: ExportJob, done: int) -> None:
    if done % PROGRESS_EVERY == 0:
        ExportJob.objects.filter(pk=job.pk).update(rows_done=done)


def _write_csv(job: ExportJob, path: str) -> int:
    done = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([label for _name, label in COLUMNS])
        for row in _rows(job):
            writer.writerow([csv_value(value) for value in row])
            done += 1
            _progress(job, done)
    return done


def _write_xlsx(job: ExportJob, path: str) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)  # rows go straight to disk
    sheet = workbook.create_sheet("Hồ sơ")
    header = []
    for _name, label in COLUMNS:
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        header.append(cell)
    sheet.append(header)
    done = 0
    for row in _rows(job):
        sheet.append([xlsx_value(sheet, value) for value in row])
        done += 1
        _progress(job, done)
    workbook.save(path)
    return done
