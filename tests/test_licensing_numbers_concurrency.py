"""Result numbers ("01/GP-STTTT"): one per issued result, gap-free and never duplicated, whatever runs at once.

Numbers are taken when the result is issued, per series (GP licences, VB written decisions, CV letters: the
refusals, "01/STTTT-TTBCXB") and per calendar year in Asia/Ho_Chi_Minh. Fifty approvals at the same moment, then
issued by the real worker (given every message twice) and by threads in this process at the same time, give
01..50; a second delivery takes nothing. A licence or approval is dated when it is issued: one decided at 23:45 on
31/12/2019 and issued after midnight is a 2020 result. A refusal letter is dated the head's decision.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from cases import services as case_services
from cases.models import Case, CaseEvent, Sequence
from licensing import services as licensing_services
from licensing import tasks as licensing_tasks
from licensing.models import IssuedDocument, Permit
from worker.models import OutboxMessage

from .support_concurrency import run_together, token_client, worker_successes, worker_wait_successes
from .support_licensing import (
    HCM,
    REQUIRED_FILE,
    applicant,
    counter_key,
    date_line_expected,
    docx_lines,
    dossier,
    download,
    upload,
)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


def numbered_application(procedure: str, n: int) -> tuple[dict, dict]:
    """(organisation, fields) of the n-th applicant of a procedure: a school's bulletin, a company's conference."""
    if procedure == "bulletin":
        school = f"Trường Trung học cơ sở số {n} TP Thái Bình"
        return (applicant(procedure, name=school, tax_code=f"10009{n:05d}", email=f"thcs{n}@thaibinh.example.vn"),
                dossier(procedure, publisher=school, bulletin_name=f"Bản tin Trường THCS số {n}"))
    if procedure == "press_conference":
        company = f"Công ty Cổ phần Du lịch Thái Bình {n}"
        event_at = timezone.localtime(timezone.now(), HCM) + timedelta(days=2)
        return (applicant(procedure, name=company, tax_code=f"10008{n:05d}", email=f"dulich{n}@example.vn"),
                dossier(procedure, organiser=company, event_at=event_at.isoformat(),
                        content=f"Giới thiệu tour du lịch biển Đồng Châu mùa hè, đợt {n}"))
    raise ValueError(procedure)


def proposed_cases(procedure: str, count: int, *, officer, start: int = 1) -> list[int]:
    """`count` cases received with complete dossiers and proposed for grant, as an officer would do it."""
    ids = []
    for n in range(start, start + count):
        organisation, fields = numbered_application(procedure, n)
        case, _ = licensing_services.application_receive(actor=officer, procedure=procedure, fields=fields,
                                                         organisation=organisation)
        if REQUIRED_FILE[procedure]:
            kind, file_type = REQUIRED_FILE[procedure]
            case_services.attachment_add(case_id=case.pk, actor=officer, upload=upload(kind, file_type), kind=kind)
        for action in ("start_review", "propose_grant"):
            case_services.case_transition(case_id=case.pk, actor=officer, action=action)
        ids.append(case.pk)
    return ids


def numbers(series: str, year: int) -> list[int]:
    return sorted(IssuedDocument.objects.filter(series=series, year=year).values_list("number", flat=True))


def issued_state() -> dict:
    """What a second issue must not change."""
    return {
        # The results (each case's receipt, a slip issued at its receipt, is not numbered: test_receipt_slips).
        "documents": sorted(IssuedDocument.objects.filter(kind__in=IssuedDocument.RESULT_KINDS)
                            .values_list("case_id", "kind", "series", "year", "number")),
        "permits": sorted(Permit.objects.values_list("case_id", "number_text")),
        "counters": sorted(Sequence.objects.filter(key__startswith="document:").values_list(
            "key", "year", "last_value")),
        "issue_events": CaseEvent.objects.filter(kind="transition", action="issue").count(),
        "document_events": CaseEvent.objects.filter(kind="document",
                                                    action__in=IssuedDocument.RESULT_KINDS).count(),
        "versions": sorted(Case.objects.values_list("pk", "version")),
    }


def no_errors(results) -> list:
    for result in results:
        assert not isinstance(result, BaseException), repr(result)
    return results


# --- Fifty approvals at once, issued by the worker and by threads at the same time --------------------------


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_approvals_are_numbered_01_to_50_once_by_worker_and_threads_at_once(
        celery_worker, outbox_sends_held, officer, head):
    from worker.celery import app

    licences = proposed_cases("bulletin", 50, officer=officer)  # GP
    approvals = proposed_cases("press_conference", 4, officer=officer)  # VB: a series of its own
    case_ids = licences + approvals
    clients = [token_client(head) for _ in case_ids]  # tokens made before the race; one client per thread
    versions = dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "version"))

    # The head approves the 54 cases at the same moment, each request on its own connection.
    responses = no_errors(run_together([
        (lambda client=client, case_id=case_id: client.post(
            f"/api/v1/cases/{case_id}/transitions/", {"action": "approve", "version": versions[case_id]},
            format="json"))
        for client, case_id in zip(clients, case_ids, strict=True)
    ]))
    assert [r.status_code for r in responses] == [200] * 54, [r.content[:300] for r in responses if r.status_code != 200]
    assert {r.json()["state"] for r in responses} == {"approved"}
    year = timezone.localtime(timezone.now(), HCM).year  # the year of issue: the results are issued just below
    outbox = {m.kwargs["case_id"]: m for m in OutboxMessage.objects.filter(task_name="licensing.result_issue")}
    assert sorted(outbox) == sorted(case_ids)

    # The worker gets every result_issue message twice under one task id, as a broker redelivery would, while
    # threads in this process run the same tasks, four of them twice: every case is issued by whoever comes first.
    for message in outbox.values():
        task_id = str(uuid.uuid4())
        for _ in range(2):
            app.send_task("licensing.result_issue", kwargs={**message.kwargs, "outbox_id": message.pk},
                          task_id=task_id)
    twice = licences[:2] + approvals[:2]
    no_errors(run_together([
        (lambda case_id=case_id: licensing_tasks.result_issue(case_id=case_id, outbox_id=outbox[case_id].pk))
        for case_id in case_ids + twice
    ]))
    worker_wait_successes(celery_worker, "licensing.result_issue", 108, timeout=120)

    results = dict(Case.objects.filter(pk__in=case_ids).values_list("pk", "result_number"))
    assert set(Case.objects.filter(pk__in=case_ids).values_list("state", flat=True)) == {"issued"}
    assert sorted(results[c] for c in licences) == [f"{n:02d}/GP-SVHTTDL" for n in range(1, 51)]
    assert sorted(results[c] for c in approvals) == [f"{n:02d}/VB-SVHTTDL" for n in range(1, 5)]
    assert numbers("GP", year) == list(range(1, 51))
    assert numbers("VB", year) == [1, 2, 3, 4]  # not 51..54
    assert set(IssuedDocument.objects.filter(case_id__in=licences).values_list("kind", flat=True)) == {"permit"}
    assert set(IssuedDocument.objects.filter(case_id__in=approvals).values_list("kind", flat=True)) == {"approval"}
    after = issued_state()
    assert after["counters"] == sorted([(counter_key("GP"), year, 50), (counter_key("VB"), year, 4)])
    assert [case_id for case_id, _ in after["permits"]] == sorted(case_ids)  # one permit per case
    assert sorted(number for _, number in after["permits"]) == sorted(results.values())
    assert [case_id for case_id, *_ in after["documents"]] == sorted(case_ids)  # one document per case
    assert after["issue_events"] == after["document_events"] == 54
    assert not OutboxMessage.objects.filter(task_name="licensing.result_issue", done_at__isnull=True).exists()
    assert len(worker_successes(celery_worker, "licensing.result_issue")) == 108

    # Called again in process, as the task and as the service, one by one and at once: nothing changes.
    licensing_tasks.result_issue(case_id=licences[0], outbox_id=outbox[licences[0]].pk)
    assert licensing_services.result_issue(case_id=approvals[0]) is None
    assert no_errors(run_together([
        (lambda case_id=case_id: licensing_services.result_issue(case_id=case_id)) for case_id in twice
    ])) == [None] * 4
    assert issued_state() == after

    # The DOCX carries the number the registry shows.
    permit = Permit.objects.get(case_id=licences[-1])
    response, content = download(token_client(officer), permit.document_id)
    assert response.status_code == 200
    assert f"Số: {permit.number_text}" in docx_lines(content)


# --- Across New Year ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_numbers_restart_at_01_in_the_year_of_issue(officer, head, api):
    with time_machine.travel(local(2019, 12, 20, 9, 0), tick=False):
        late_2019, later_2019, early_2020 = proposed_cases("bulletin", 3, officer=officer)
        [conference] = proposed_cases("press_conference", 1, officer=officer)
        refused_2019, refused = proposed_cases("bulletin", 2, officer=officer, start=4)

    def decide(moment, case_id, action="approve", note=""):
        with time_machine.travel(moment, tick=False):
            case_services.case_transition(case_id=case_id, actor=head, action=action, note=note)

    def issue(moment, *calls):
        with time_machine.travel(moment, tick=False):
            for task, case_id in calls:
                task(case_id=case_id)

    result, letter = licensing_services.result_issue, licensing_services.refusal_letter_issue
    decide(local(2019, 12, 31, 23, 30), late_2019)  # 16:30 UTC: still 2019 in Thái Bình
    issue(local(2019, 12, 31, 23, 31), (result, late_2019))
    decide(local(2019, 12, 31, 23, 40), conference)
    issue(local(2019, 12, 31, 23, 41), (result, conference))
    decide(local(2019, 12, 31, 23, 45), later_2019)  # its result is not written before midnight
    decide(local(2019, 12, 31, 23, 50), refused_2019, "refuse", "Bản tin trùng tên với bản tin đã được cấp phép.")
    decide(local(2020, 1, 1, 0, 10), early_2020)
    decide(local(2020, 1, 1, 0, 15), refused, "refuse", "Bản tin trùng tên với bản tin đã được cấp phép.")

    # The worker catches up after midnight, in another order. A result is dated, numbered and registered when it
    # is issued: the licence decided at 23:45 is the second of 2020. A refusal letter is dated the decision.
    issue(local(2020, 1, 1, 0, 20), (result, early_2020), (letter, refused), (result, later_2019),
          (letter, refused_2019))

    documents = {d.case_id: (d.series, d.year, d.number, d.number_text) for d in IssuedDocument.objects.all()}
    assert documents == {
        late_2019: ("GP", 2019, 1, "01/GP-STTTT"),
        early_2020: ("GP", 2020, 1, "01/GP-STTTT"),
        later_2019: ("GP", 2020, 2, "02/GP-STTTT"),
        conference: ("VB", 2019, 1, "01/VB-STTTT"),
        # Refusals are official letters, in a series of their own (never a VB number), by the decision's year.
        refused_2019: ("CV", 2019, 1, "01/STTTT-TTBCXB"),
        refused: ("CV", 2020, 1, "01/STTTT-TTBCXB"),
    }
    assert sorted(Sequence.objects.filter(key__startswith="document:").values_list("key", "year", "last_value")) == [
        *sorted([(counter_key(s, "thai-binh-stttt"), y, n) for s, y, n in (
            ("CV", 2019, 1), ("CV", 2020, 1), ("GP", 2019, 1), ("GP", 2020, 2), ("VB", 2019, 1))])]
    assert Permit.objects.get(case_id=late_2019).issued_at == datetime(2019, 12, 31, 16, 31, tzinfo=UTC)
    assert Permit.objects.get(case_id=later_2019).issued_at == datetime(2019, 12, 31, 17, 20, tzinfo=UTC)
    assert not Permit.objects.filter(case_id__in=[refused_2019, refused]).exists()

    client = api.as_user(head)
    first_2019, first_2020 = (IssuedDocument.objects.get(case_id=c, kind__in=IssuedDocument.RESULT_KINDS)
                             for c in (late_2019, early_2020))
    lines_2019 = docx_lines(download(client, first_2019.pk)[1])
    lines_2020 = docx_lines(download(client, first_2020.pk)[1])
    assert "Số: 01/GP-STTTT" in lines_2019 and "Số: 01/GP-STTTT" in lines_2020
    assert "Thái Bình, ngày 31 tháng 12 năm 2019" in lines_2019
    assert "Thái Bình, ngày 01 tháng 01 năm 2020" in lines_2020
    assert date_line_expected(local(2020, 1, 1, 0, 10)) == "Thái Bình, ngày 01 tháng 01 năm 2020"
    # The letter written after midnight for a refusal of 31/12/2019 carries the decision's day and 2019 number.
    letter_2019 = docx_lines(download(client, IssuedDocument.objects.get(case_id=refused_2019, kind="refusal").pk)[1])
    assert "Số: 01/STTTT-TTBCXB" in letter_2019
    assert "Thái Bình, ngày 31 tháng 12 năm 2019" in letter_2019

    # The registry by year of issue: both "01/GP-STTTT", told apart by their dates.
    in_2020 = client.get("/api/v1/licensing/permits/", {"issued_after": "2020-01-01T00:00:00+07:00"}).json()
    assert sorted((p["case"], p["number_text"]) for p in in_2020["results"]) == sorted(
        [(early_2020, "01/GP-STTTT"), (later_2019, "02/GP-STTTT")])
    in_2019 = client.get("/api/v1/licensing/permits/", {"issued_before": "2020-01-01T00:00:00+07:00"}).json()
    assert sorted((p["case"], p["number_text"]) for p in in_2019["results"]) == sorted(
        [(late_2019, "01/GP-STTTT"), (conference, "01/VB-STTTT")])
