"""The demo department (`manage.py load_demo`, what `make run` loads) lives in an app of its own, prints a short
list of logins, and its year reads like a real register: within each series and year, a result issued later has a
higher number, and its Q4/2019 procedure results are the seed report's table I.5."""

import csv
import io
import re
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command

from cases.models import Case
from licensing.models import IssuedDocument, Permit
from reports.exports import EXPORTS
from reports.quarters import Quarter
from reports.tables import quarterly_report

from .support_inspections import checklists_load
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
    assert not (ROOT / "cases" / "management").exists()
    assert (ROOT / "demo" / "management" / "commands" / "load_demo.py").exists()


@pytest.mark.django_db(transaction=True)
def test_the_demo_year_numbers_follow_issue_dates_and_its_q4_is_the_seed_table(tmp_path):
    checklists_load()  # migrated data: a transactional test before this one may have emptied the tables
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    lines = out.getvalue().splitlines()

    # A few lines of progress and an aligned table of the logins: user name, role, password, API token.
    assert len(lines) <= 15, out.getvalue()
    table = [line for line in lines if re.search(r"\sdemo-sttt-2026\s+[0-9a-f]{40}$", line)]
    assert [line.split()[0] for line in table] == ["admin", "canbo1", "canbo2", "lanhdao", "truongdoan", "thanhtra1",
                                                  "thanhtra2", "vanphong"]
    assert len({line.index("demo-sttt-2026") for line in table}) == 1  # the columns line up
    assert len({len(line) for line in table}) == 1

    # Within each series and year, numbers follow the moments of issue.
    documents = defaultdict(list)
    for series, year, number, issued_at in (IssuedDocument.objects.exclude(number=None)
                                            .values_list("series", "year", "number", "issued_at")):
        documents[(series, year)].append((number, issued_at))
    assert {key for key in documents if key[1] in (2019, 2020)} >= {("GP", 2019), ("GP", 2020)}
    for key, numbered in documents.items():
        numbered.sort()
        assert [number for number, _at in numbered] == list(range(1, len(numbered) + 1)), key  # no gap
        moments = [at for _number, at in numbered]
        assert moments == sorted(moments), (key, [(n, str(at)) for n, at in numbered if n])
    # The year's permits in the registry are dated as their documents.
    for permit in Permit.objects.select_related("document").filter(document__year__lt=2021):
        assert permit.issued_at == permit.document.issued_at, permit.number_text
    # The year's case references follow receipt dates in the same way.
    references = defaultdict(list)
    for reference, received_at in Case.objects.filter(case_type__domain="licensing", received_at__year__lt=2021) \
            .values_list("reference", "received_at"):
        prefix, number = reference.rsplit("-", 1)
        references[prefix].append((int(number), received_at))
    assert references
    for prefix, numbered in references.items():
        numbered.sort()
        assert [at for _n, at in numbered] == sorted(at for _n, at in numbered), prefix

    # Q4/2019's procedure results are the seed report's table I.5 (01, 09, 02, 02, 19, 02).
    data = EXPORTS["csv"][0](quarterly_report(Quarter(2019, 4)))
    produced = [row[:4] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")))][2:8]
    assert produced == seed_table_i5()
