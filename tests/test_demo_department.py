"""The demo department (`manage.py load_demo`, what `make run` loads) lives in an app of its own, prints a short
list of logins, and its years read like a real register: within each agency's series and year, a result issued
later has a higher number, and its Q4/2019 procedure results are the seed report's table I.5. Its work runs on
through the 2025 reorganisations: documents print the agency of their own date (Thái Bình's Sở TTTT in 2019,
Hưng Yên's Sở VHTTDL in 2026, each numbering from 01), open dossiers were transferred to the successors, and
today's accounts see both eras."""

import csv
import io
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from docx import Document

from agencies.models import Agency, Membership, Signer
from agencies.selectors import signature_on
from applicants.models import Submission
from cases.deadlines import quarter_start
from cases.models import Case, CaseEvent
from cases.selectors import cases_visible
from cases.workflow import TERMINAL
from licensing.documents import date_text
from licensing.models import IssuedDocument, Permit
from reports.exports import EXPORTS
from reports.models import ClosedQuarter
from reports.quarters import Quarter
from reports.tables import quarterly_report

from .test_settings_and_embedded_mode import seed_table_i5

ROOT = Path(__file__).resolve().parent.parent


def test_the_domain_apps_do_not_know_the_demo():
    """The loader and its builders are in demo/; no domain app imports them (nor cases/ the other domain apps for
    a demo)."""
    for app in ("cases", "licensing", "inspections", "reports", "worker"):
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"^\s*(from|import) demo\b", text, flags=re.M), path
            assert "demo_year" not in text and "demo_campaigns" not in text, path
    assert list(ROOT.glob("*/management/commands/load_demo.py")) == [
        ROOT / "demo" / "management" / "commands" / "load_demo.py"]


@pytest.mark.xdist_group("embedded-demo")  # the demo `make run` builds, once per process (tests/support_demo.py)
def test_the_demo_year_numbers_follow_issue_dates_and_its_q4_is_the_seed_table(embedded_db):
    lines = embedded_db.stdout.splitlines()  # load_demo's output (tests/support_demo.py: built once, this a copy)

    # A few lines of progress and an aligned table of the logins: user name, role, agency, password, API token.
    assert len(lines) <= 15, embedded_db.stdout
    table = [line for line in lines if re.search(r"\sdemo-sttt-2026\s+[0-9a-f]{40}$", line)]
    assert [line.split()[0] for line in table] == ["admin", "canbo1", "canbo2", "lanhdao", "truongdoan", "thanhtra1",
                                                  "thanhtra2", "vanphong", "lanhdao_khcn", "truongdoan_khcn"]
    assert len({line.index("demo-sttt-2026") for line in table}) == 1  # the columns line up
    # The applicants' two accounts (issue 16) with their online dossiers, printed after the staff's logins.
    assert any("doanhnghiep1" in line and "doanhnghiep2" in line for line in lines), embedded_db.stdout
    assert {username: Submission.objects.filter(organisation__representatives__user__username=username).count()
            for username in ("doanhnghiep1", "doanhnghiep2")} == {"doanhnghiep1": 9, "doanhnghiep2": 4}
    assert len({len(line) for line in table}) == 1
    where = {line.split()[0]: line for line in table}
    assert "SVHTTDL Hưng Yên" in where["canbo1"] and "SKHCN Hưng Yên" in where["lanhdao_khcn"]

    # Within each agency's series and year, numbers follow the moments of issue.
    documents = defaultdict(list)
    for issuer, series, year, number, issued_at in (IssuedDocument.objects.exclude(number=None).values_list(
            "issuer__code", "series", "year", "number", "issued_at")):
        documents[(issuer, series, year)].append((number, issued_at))
    assert {key for key in documents if key[2] in (2019, 2020)} >= {("thai-binh-stttt", "GP", 2019),
                                                                   ("thai-binh-stttt", "GP", 2020)}
    assert {key for key in documents if key[2] == 2025} >= {
        ("thai-binh-stttt", "GP", 2025), ("thai-binh-svhttdl", "GP", 2025), ("hung-yen-svhttdl", "GP", 2025)}
    for key, numbered in documents.items():
        numbered.sort()
        assert [number for number, _at in numbered] == list(range(1, len(numbered) + 1)), key  # no gap
        moments = [at for _number, at in numbered]
        assert moments == sorted(moments), (key, [(n, str(at)) for n, at in numbered if n])
    # The year's permits in the registry are dated as their documents.
    for permit in Permit.objects.select_related("document").filter(document__year__lt=2021):
        assert permit.issued_at == permit.document.issued_at, permit.number_text
    # The years' case references follow receipt dates in the same way (the recent dossiers of the quarter under
    # way are received at moments before the run, in the order of their procedures).
    references = defaultdict(list)
    for reference, received_at in Case.objects.filter(case_type__domain="licensing",
                                                      received_at__lt=quarter_start(timezone.now())) \
            .values_list("reference", "received_at"):
        prefix, number = reference.rsplit("-", 1)
        references[prefix].append((int(number), received_at))
    assert references
    for prefix, numbered in references.items():
        numbered.sort()
        assert [at for _n, at in numbered] == sorted(at for _n, at in numbered), prefix

    # Q4/2019's procedure results are the seed report's table I.5 (01, 09, 02, 02, 19, 02): the report of Thái Bình's
    # Sở TTTT, which held every case of that year.
    data = EXPORTS["csv"][0](quarterly_report(Quarter(2019, 4), agency=Agency.objects.get(code="thai-binh-stttt")))
    produced = [row[:4] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))][2:8]
    assert produced == seed_table_i5()

    _documents_print_the_agency_of_their_date()
    _open_dossiers_went_to_the_successors()
    _accounts_see_both_eras()
    _quarters_since_2025_are_reported_and_closed()


def _docx(document: IssuedDocument):
    with document.file.open("rb") as stored:
        return Document(io.BytesIO(stored.read()))


def _header(document) -> tuple[list[str], list[str]]:
    left, right = document.tables[0].rows[0].cells
    return [p.text for p in left.paragraphs if p.text], [p.text for p in right.paragraphs if p.text]


def _signature(document) -> list[str]:
    return [p.text for p in document.tables[-1].rows[0].cells[1].paragraphs if p.text]


def _documents_print_the_agency_of_their_date():
    """A 2019 licence prints Thái Bình's Sở TTTT and its number; a 2026 one Hưng Yên's Sở VHTTDL, numbered from 01
    in that agency's own series and signed by its head of that day."""
    old = IssuedDocument.objects.get(kind="permit", year=2019, number=1)
    left, right = _header(_docx(old))
    assert left == ["UBND TỈNH THÁI BÌNH", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG", "Số: 01/GP-STTTT"]
    assert re.fullmatch(r"Thái Bình, ngày \d\d tháng \d\d? năm 2019", right[-1]), right

    new = IssuedDocument.objects.select_related("issuer").get(kind="permit", year=2026, number=1)
    assert new.issuer.code == "hung-yen-svhttdl"
    opened = _docx(new)
    left, right = _header(opened)
    assert left == ["UBND TỈNH HƯNG YÊN", "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH", "Số: 01/GP-SVHTTDL"]
    issued_on = timezone.localtime(new.issued_at).date()
    assert right[-1] == f"Hưng Yên, {date_text(new.issued_at)}" and right[-1].endswith("năm 2026"), right
    head = Signer.objects.get(agency=new.issuer, user__username="lanhdao", valid_from=date(2025, 7, 1))
    assert signature_on(new.issuer, issued_on).name == head.name
    assert _signature(opened) == ["GIÁM ĐỐC", head.name] and new.signer_name == head.name
    assert "GIÁM ĐỐC SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH" in [p.text for p in opened.paragraphs]

    # Each agency's series starts at 01: the Sở TTTT's 2025 licences run on from January, its successor in Thái
    # Bình starts again (with a dossier the Sở TTTT received), and so does Hưng Yên's in July.
    firsts = {code: IssuedDocument.objects.select_related("case").get(issuer__code=code, series="GP", year=2025,
                                                                       number=1)
              for code in ("thai-binh-stttt", "thai-binh-svhttdl", "hung-yen-svhttdl")}
    assert [doc.number_text for doc in firsts.values()] == ["01/GP-STTTT", "01/GP-SVHTTDL", "01/GP-SVHTTDL"]
    assert timezone.localtime(firsts["thai-binh-svhttdl"].issued_at).date() >= date(2025, 3, 1)
    assert timezone.localtime(firsts["thai-binh-svhttdl"].case.received_at).date() < date(2025, 3, 1)
    assert timezone.localtime(firsts["hung-yen-svhttdl"].issued_at).date() >= date(2025, 7, 1)
    left, right = _header(_docx(firsts["thai-binh-svhttdl"]))
    assert left[:2] == ["UBND TỈNH THÁI BÌNH", "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH"] and right[-1].startswith(
        "Thái Bình, ngày")


def _open_dossiers_went_to_the_successors():
    """What was open when an agency ended was transferred on the reorganisation's day; the ended agencies hold
    nothing open but their own periodic reports (a report stays with the agency that wrote it: the Sở TTTT's
    Q1/2020 draft, tests/test_report_seed_document.py)."""
    moved = CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFER)
    days = {timezone.localtime(at).date() for at in moved.values_list("at", flat=True)}
    assert days == {date(2025, 3, 1), date(2025, 7, 1)}
    assert moved.filter(case__received_at__year=2025, case__received_at__month=2).count() >= 3
    for code in ("thai-binh-stttt", "thai-binh-svhttdl", "thai-binh-skhcn"):
        assert not Case.objects.filter(agency__code=code).exclude(state__in=TERMINAL) \
            .exclude(case_type__domain="report").exists(), code
    assert Case.objects.filter(agency__code="hung-yen-svhttdl").exclude(state__in=TERMINAL) \
        .filter(due_at__lt=quarter_start(timezone.now())).exists()  # some are past their due date


def _accounts_see_both_eras():
    """Today's accounts work for Hưng Yên's departments (the memberships' history keeps where they were) and see
    their predecessors' archive with their own work; the Sở KH&CN's people do not see the Sở VHTTDL's."""
    users = {user.username: user for user in get_user_model().objects.all()}
    assert set(Membership.objects.filter(user=users["canbo1"]).values_list("agency__code", flat=True)) == {
        "hung-yen-svhttdl"}
    assert set(Membership.objects.filter(user=users["thanhtra2"]).values_list("agency__code", flat=True)) == {
        "hung-yen-skhcn"}
    assert {"thai-binh-stttt", "thai-binh-svhttdl"} <= set(
        Membership.history.filter(user_id=users["canbo1"].pk).values_list("agency__code", flat=True))
    for username in ("canbo1", "lanhdao", "vanphong"):
        years = set(cases_visible(user=users[username]).filter(case_type__domain="licensing")
                    .values_list("received_at__year", flat=True))
        assert {2019, 2025, 2026} <= years, (username, years)
    inspected = {code: set(cases_visible(user=users[code]).filter(case_type__domain="inspection")
                           .values_list("case_type__code", "received_at__year"))
                 for code in ("lanhdao_khcn", "lanhdao", "thanhtra1")}
    assert {("prepaid_sim", 2019), ("bts_station", 2025)} <= inspected["lanhdao_khcn"]
    assert ("printing", 2026) not in inspected["lanhdao_khcn"]
    assert {("printing", 2019), ("printing", 2026)} <= inspected["lanhdao"]
    assert ("bts_station", 2025) not in inspected["lanhdao"]
    assert {("printing", 2019), ("printing", 2026)} <= inspected["thanhtra1"]


def _quarters_since_2025_are_reported_and_closed():
    """Q1/2025 is two agencies' report (the Sở TTTT to February, its successor in March); the ended quarters are
    frozen."""
    def results(code):
        report = quarterly_report(Quarter(2025, 1), agency=Agency.objects.get(code=code))
        return {row["code"]: row["count"] for row in report["procedure_results"] if row["count"]}

    assert results("thai-binh-stttt") == {"press_conference": 1, "bulletin": 1, "print_registration": 1,
                                          "noncommercial_publication": 1, "publication_import": 1}
    assert results("thai-binh-svhttdl") == {"press_conference": 1, "bulletin": 1, "printing_licence": 1,
                                            "noncommercial_publication": 1}
    closed = set(ClosedQuarter.objects.values_list("year", "quarter"))
    assert {(2019, 4), (2025, 1), (2025, 2), (2025, 3), (2026, 3)} <= closed
