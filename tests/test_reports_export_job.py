import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from reports import case_export

from .conftest import wait_for
from .factories import case_make

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.mark.django_db(transaction=True)
def test_an_export_job_reports_progress_and_finishes_through_a_real_worker(celery_worker, api, officer, reporter,
                                                                            monkeypatch):
    cases = [case_make(actor=officer, type_code="bulletin", received_at=datetime(2019, 10, 1 + i, 9, tzinfo=HCM))
             for i in range(7)]
    case_make(actor=officer, type_code="bulletin", received_at=datetime(2020, 1, 2, 9, tzinfo=HCM))  # outside
    api.as_user(reporter)
    body = {"format": "csv", "received_from": "2019-10-01T00:00:00+07:00", "received_to": "2020-01-01T00:00:00+07:00",
            "uuid": "4a1e5f0c-6b7d-4f43-9a59-0b8a4c1f2e11"}
    created = api.post("/api/v1/reports/exports/", body, format="json")
    assert created.status_code == 202
    again = api.post("/api/v1/reports/exports/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]  # a retry, not a second job
    url = f"/api/v1/reports/exports/{created.json()['id']}/"
    seen = []

    def finished():
        state = api.get(url).json()
        seen.append((state["status"], state["progress"]))
        return state["status"] == "done" and state

    state = wait_for(finished, timeout=60, interval=0.05, message="the export job")
    assert (state["rows_total"], state["rows_done"], state["progress"]) == (7, 7, 1.0)
    download = api.get(state["download_url"])
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode("utf-8-sig"))))
    assert rows[0][0] == "Số hồ sơ"
    assert sorted(row[0] for row in rows[1:]) == sorted(case.reference for case in cases)


@pytest.mark.django_db
def test_xlsx_export_streams_rows_in_write_only_mode(officer, reporter, monkeypatch):
    from reports.services import export_request

    monkeypatch.setattr(case_export, "PROGRESS_EVERY", 2)
    for i in range(5):
        case_make(actor=officer, type_code="printing_licence", received_at=datetime(2019, 11, 4 + i, 9, tzinfo=HCM))
    job, _created = export_request(actor=reporter, format="xlsx", received_from=datetime(2019, 11, 1, tzinfo=HCM),
                                   received_to=datetime(2019, 12, 1, tzinfo=HCM))
    progress = []
    original = case_export._progress
    monkeypatch.setattr(case_export, "_progress", lambda j, done: (progress.append(done), original(j, done)))
    job = case_export.export_run(job_id=job.pk)
    assert job.status == "done" and job.rows_done == 5
    assert progress == [1, 2, 3, 4, 5]
    sheet = openpyxl.load_workbook(job.file.path).active
    assert sheet.max_row == 6 and sheet["C2"].value == "Cấp giấy phép hoạt động in"
    assert case_export.export_run(job_id=job.pk) is None  # a second delivery does nothing
