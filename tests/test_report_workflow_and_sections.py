"""A periodic report is a case of its own workflow: draft → divisions contribute → head's review → approved →
issued (gap-free number of the agency's BC series) → sent. Each division writes only its sections; two edits made
on the same version: one wins, the other is a conflict and nothing is overwritten."""

import threading

import pytest
from django.db import connection

from cases.errors import InvalidTransition, NotAllowed, StaleVersion
from cases.models import Case
from cases.selectors import cases_visible
from cases.services import case_transition
from reports import report_services as rs
from reports.models import ReportSection, ReportSectionVersion

from .factories import UserFactory
from .support_reports import TEXTS, report_world, walk_to_issued, write_all, writer_of

pytestmark = pytest.mark.django_db


def test_a_report_walks_from_draft_to_sent_with_a_gap_free_number():
    world = report_world()
    assert world.report.case.state == "report_draft"
    assert world.report.case.case_type.domain == "report"
    report = walk_to_issued(world)
    assert report.case.state == "report_issued"
    assert report.number == 1 and report.number_text == "01/BC-SVHTTDL"
    assert report.frozen["number_text"] == "01/BC-SVHTTDL"
    assert [s["paragraphs"] for s in report.frozen["sections"]][0] == TEXTS["I.1"].split("\n")
    rs.report_transition(actor=world.office, report_id=report.pk, action="send_report")
    report.case.refresh_from_db()
    assert report.case.state == "report_sent" and report.case.closed_at is not None

    # The next report of the year takes the next number.
    second = report_world(period="2026-Q2")
    assert walk_to_issued(second).number_text == "02/BC-SVHTTDL"


def test_the_review_waits_for_every_section_and_the_head_may_return_it():
    world = report_world()
    rs.report_transition(actor=world.office, report_id=world.report.pk, action="open_contributions")
    write_all(world, {code: text for code, text in TEXTS.items() if code != "I.3"})
    with pytest.raises(InvalidTransition) as owed:
        rs.report_transition(actor=world.office, report_id=world.report.pk, action="submit_for_review")
    assert owed.value.extra["owed"] == ["I.3"]
    write_all(world, {"I.3": TEXTS["I.3"]})
    rs.report_transition(actor=world.office, report_id=world.report.pk, action="submit_for_review")
    with pytest.raises(NotAllowed):
        rs.report_transition(actor=world.office, report_id=world.report.pk, action="approve_report")
    rs.report_transition(actor=world.head, report_id=world.report.pk, action="return_for_changes",
                         note="Bổ sung số liệu mục 2.")
    world.report.case.refresh_from_db()
    assert world.report.case.state == "report_contributing"


def test_each_division_edits_only_its_own_section():
    world = report_world()
    section = world.report.sections.get(code="I.2")
    for code, writer in world.writers.items():
        if code == "bcvt":
            continue
        with pytest.raises(NotAllowed):
            rs.section_edit(actor=writer, report_id=world.report.pk, code="I.2", text="x", version=section.version)
    with pytest.raises(NotAllowed):  # the head reviews; the division writes
        rs.section_edit(actor=world.head, report_id=world.report.pk, code="I.2", text="x", version=section.version)
    edited = rs.section_edit(actor=world.writers["bcvt"], report_id=world.report.pk, code="I.2", text="Văn bản.",
                             version=section.version)
    assert edited.version == section.version + 1
    assert list(ReportSectionVersion.objects.filter(section=section).values_list("version", "text")) == [
        (1, ""), (2, "Văn bản.")]


def test_who_may_approve_and_issue():
    world = report_world()
    outsider = UserFactory(roles=["licensing_officer"], agencies=[world.agency])
    rs.report_transition(actor=world.office, report_id=world.report.pk, action="open_contributions")
    write_all(world)
    with pytest.raises(NotAllowed):
        rs.report_transition(actor=outsider, report_id=world.report.pk, action="submit_for_review")
    rs.report_transition(actor=world.office, report_id=world.report.pk, action="submit_for_review")
    for user in (world.office, world.writers["cntt"], outsider):
        with pytest.raises(NotAllowed):
            rs.report_transition(actor=user, report_id=world.report.pk, action="approve_report")
    rs.report_transition(actor=world.head, report_id=world.report.pk, action="approve_report")
    with pytest.raises(NotAllowed):
        rs.report_issue(actor=outsider, report_id=world.report.pk)
    assert rs.report_issue(actor=world.head, report_id=world.report.pk).number == 1


def test_the_engine_door_refuses_report_actions_and_report_cases_stay_out_of_other_roles_lists():
    world = report_world()
    with pytest.raises(NotAllowed):
        case_transition(case_id=world.report.case_id, actor=world.office, action="open_contributions")
    officer = UserFactory(roles=["licensing_officer"], agencies=[world.agency])
    lead = UserFactory(roles=["inspection_lead"], agencies=[world.agency])
    for user in (officer, lead):
        assert not cases_visible(user=user).filter(pk=world.report.case_id).exists()
    assert Case.objects.filter(case_type__domain="licensing", pk=world.report.case_id).count() == 0


def test_a_stale_edit_is_a_conflict_and_overwrites_nothing():
    world = report_world()
    writer = writer_of(world, "I.1")
    section = world.report.sections.get(code="I.1")
    rs.section_edit(actor=writer, report_id=world.report.pk, code="I.1", text="Bản của chị Lan.",
                    version=section.version)
    with pytest.raises(StaleVersion):
        rs.section_edit(actor=writer, report_id=world.report.pk, code="I.1", text="Bản của anh Minh.",
                        version=section.version)
    assert ReportSection.objects.get(pk=section.pk).text == "Bản của chị Lan."


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_edits_of_one_version_one_wins_the_other_conflicts():
    from .conftest import catalogue_load as cases_catalogue

    cases_catalogue()
    world = report_world()
    writer = writer_of(world, "I.3")
    second = UserFactory(roles=["licensing_officer"], agencies=[world.agency])
    world.divisions["ttbcxb"].members.add(second)
    version = world.report.sections.get(code="I.3").version
    barrier = threading.Barrier(2)
    results = {}

    def edit(name, user, text):
        try:
            barrier.wait(timeout=10)
            rs.section_edit(actor=user, report_id=world.report.pk, code="I.3", text=text, version=version)
            results[name] = "saved"
        except StaleVersion:
            results[name] = "conflict"
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=("a", writer, "Văn bản A.")),
               threading.Thread(target=edit, args=("b", second, "Văn bản B."))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results.values()) == ["conflict", "saved"]
    winner = "Văn bản A." if results["a"] == "saved" else "Văn bản B."
    section = ReportSection.objects.get(report=world.report, code="I.3")
    assert (section.text, section.version) == (winner, version + 1)
    assert ReportSectionVersion.objects.filter(section=section).count() == 2


def test_six_months_and_the_year_use_the_same_machinery():
    from reports.periods import Period
    from reports.report_content import report_content, tasks_heading

    assert [str(Period.parse(text).previous()) for text in ("2020-Q1", "2020-H1", "2020")] == ["2019-Q4", "2019-H2",
                                                                                              "2019"]
    assert [q.number for q in Period.parse("2019-H2").quarters()] == [3, 4]
    assert tasks_heading(Period.parse("2019-Q4")) == "III. MỘT SỐ NHIỆM VỤ TRỌNG TÂM QUÝ I/2020"
    assert tasks_heading(Period.parse("2020-H1")) == "III. MỘT SỐ NHIỆM VỤ TRỌNG TÂM 6 THÁNG CUỐI NĂM 2020"
    half = report_world(period="2026-H1")
    assert half.report.summary == ("Kết quả hoạt động thông tin truyền thông 6 tháng đầu năm 2026 và nhiệm vụ trọng "
                                   "tâm 6 tháng cuối năm 2026")
    year = report_world(period="2025")
    assert year.report.kind == "year" and year.report.summary.endswith("năm 2025 và nhiệm vụ trọng tâm năm 2026")
    content = report_content(half.report)
    assert content["date_line"] == "Hưng Yên, ngày     tháng 6 năm 2026"  # a draft: number and day left blank
    assert content["number_text"].endswith("/BC-SVHTTDL") and not content["number_text"].strip()[0].isdigit()
    assert walk_to_issued(half).number_text == "01/BC-SVHTTDL"
