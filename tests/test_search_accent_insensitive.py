"""The lists' text search is accent- and case-insensitive and matches whole words (cases/search.py): "minh phat"
finds "Minh Phát" in cases (API and the officers' page), organisations, permits (API and page), establishments and
campaigns; "duc" and "đức" find "Đức"; a piece of a word does not, a word ending in * finds the words it starts; a
user still sees only what they may see."""

import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases import roles as r
from cases.models import Case
from cases.search import fold, query_terms, search_q, tsquery, words, words_match
from cases.selectors import text_search_q
from inspections.models import Establishment
from licensing.models import IssuedDocument, Organisation, Permit

from .factories import UserFactory, case_make
from .support_inspections import campaign_make, shop

pytestmark = pytest.mark.django_db

# The Vietnamese alphabet in both cases, with every tone on every vowel.
VIETNAMESE = ("aàáảãạ ăằắẳẵặ âầấẩẫậ eèéẻẽẹ êềếểễệ iìíỉĩị oòóỏõọ ôồốổỗộ ơờớởỡợ uùúủũụ ưừứửữự yỳýỷỹỵ "
              "bcdđghklmnpqrstvx")
FOLDED = ("aaaaaa aaaaaa aaaaaa eeeeee eeeeee iiiiii oooooo oooooo oooooo uuuuuu uuuuuu yyyyyy "
          "bcddghklmnpqrstvx")

SEARCHES = [  # (query, found among the cases of the `desk` fixture)
    ("minh phat", {"minh_phat"}),
    ("MINH PHÁT", {"minh_phat"}),
    ("Minh Phát", {"minh_phat"}),
    ("minh ph", set()),  # "ph" is no word of theirs
    ("minh ph*", {"minh_phat"}),  # ... but the start of one
    ("MINH P* TNH*", {"minh_phat"}),
    ("phat minh", {"minh_phat"}),  # words in any order
    ("tnhh", {"minh_phat"}),  # a word in the middle
    ("đức", {"duc"}),
    ("duc", {"duc"}),
    ("ĐỨC THỊNH", {"duc"}),
    ("in duc", {"duc"}),
    ("inh", set()),  # a piece of "Minh" or "Thịnh" is not a word
    ("minh long", set()),  # every word must be there
    ("hoàng long", set()),
    ("bản tin nội bộ", {"bulletin"}),  # the summary's words
    ("ban tin noi bo", {"bulletin"}),
]


@pytest.fixture
def desk(officer, lead):
    return {
        "minh_phat": case_make(actor=officer, subject_name="Công ty TNHH Minh Phát"),
        "duc": case_make(actor=officer, subject_name="Cơ sở in Đức Thịnh"),
        "bulletin": case_make(actor=officer, type_code="bulletin", subject_name="Trường THPT Bắc Duyên Hà",
                              summary="Bản tin nội bộ"),
        "other": case_make(actor=officer, subject_name="Công ty In Thái Bình"),
        # An inspection case a licensing officer may not read.
        "inspection": case_make(actor=lead, type_code="printing", subject_name="Cửa hàng photocopy Minh Phát"),
    }


def found(desk, rows) -> set[str]:
    by_id = {case.pk: name for name, case in desk.items()}
    return {by_id[row["id"]] for row in rows}


# --- The folding: Python and PostgreSQL agree ---------------------------------------------------------------


def test_folding_removes_every_vietnamese_diacritic_in_python_and_in_postgresql():
    assert fold(VIETNAMESE) == FOLDED and fold(VIETNAMESE.upper()) == FOLDED
    assert words("Công ty TNHH Minh-Phát, Số 12/3 Lý Bôn") == ["cong", "ty", "tnhh", "minh", "phat", "so", "12",
                                                                 "3", "ly", "bon"]
    with connection.cursor() as cursor:
        for text in (VIETNAMESE, VIETNAMESE.upper(), "Công ty TNHH Minh-Phát, Số 12/3 Lý Bôn", "Minh.Phát A-12"):
            cursor.execute("SELECT tsvector_to_array(f_search_words(%s))", [text])
            assert sorted(cursor.fetchone()[0]) == sorted(set(words(text))), text


@pytest.mark.parametrize(("text", "query"), [
    ("Công ty TNHH Minh Phát", "minh phat"), ("Công ty TNHH Minh Phát", "phat"), ("Công ty TNHH Minh Phát", "ph"),
    ("Công ty TNHH Minh Phát", "ph*"), ("Công ty TNHH Minh Phát", "MI* ph*"), ("Công ty TNHH Minh Phát", "inh"),
    ("Công ty TNHH Minh Phát", "minh long"), ("Đức Thịnh", "duc"), ("Đài Phát thanh", "dai phat th*"),
    ("Minh.Phát", "minh phat"), ("Lô A-12", "a 12"), ("Lô A-12", "12"), ("Lô A-12", "1*"),
])
def test_the_embedded_modes_comparison_is_postgresqls(text, query):
    """SQLite (make run) compares in Python: it must find what PostgreSQL finds, in the cases' stored words and in a
    registry's words made as it is read (after the quick check on the longest term)."""
    terms = query_terms(query)
    expected = words_match(text, " ".join(terms))
    with connection.cursor() as cursor:
        cursor.execute("SELECT f_search_words(%s) @@ to_tsquery('simple', %s)", [text, tsquery(terms)])
        assert cursor.fetchone()[0] is expected
    place = shop(1, name=text)
    assert Establishment.objects.filter(search_q(query, words_in=("name",))).exists() is expected
    assert Establishment.objects.filter(search_q(query, words_in=("name", "address"))).exists() is (
        expected or words_match(f"{place.name} {place.address}", " ".join(terms)))


def test_a_cases_stored_words_are_its_subject_and_summary(desk):
    """The generated column `search_words` (migration) is made of cases.search.CASE_WORDS, folded as Python folds."""
    with connection.cursor() as cursor:
        for case in desk.values():
            cursor.execute("SELECT tsvector_to_array(search_words) FROM cases_case WHERE id = %s", [case.pk])
            assert sorted(cursor.fetchone()[0]) == sorted(set(words(f"{case.subject_name} {case.summary}")))
    case = desk["duc"]
    Case.objects.filter(pk=case.pk).update(subject_name="Cơ sở in Hưng Yên")
    assert Case.objects.filter(text_search_q("hung yen")).get() == case  # kept up to date by PostgreSQL


def _plan(query) -> str:
    sql, params = query.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:  # on an empty table, anything but a bitmap scan is made too dear
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_case_search_reads_its_index(officer, monkeypatch):
    """A million cases are searched through a GIN index, not read one by one: the words alone
    (`case_search_words_idx`) for a user who sees most of the cases, the words and the user's agencies in one
    scan (`case_agency_words_idx`) for one agency among several."""
    assert "case_search_words_idx" in _plan(Case.objects.filter(text_search_q("minh phat"))), "no user"
    monkeypatch.setattr("cases.selectors.cases_share_of_agencies", lambda ids: 0.9)
    assert "case_search_words_idx" in _plan(Case.objects.filter(text_search_q("minh phat", user=officer)))
    monkeypatch.setattr("cases.selectors.cases_share_of_agencies", lambda ids: 0.1)
    plan = _plan(Case.objects.filter(text_search_q("minh phat", user=officer)))
    assert "case_agency_words_idx" in plan and "@agency" in plan, plan


def test_searching_with_the_agencies_finds_the_same_cases_and_nothing_of_other_agencies(desk, monkeypatch):
    """The agencies' words narrow the index scan; they never widen what a user sees. Every search of SEARCHES,
    through the API as an officer of one agency, finds the same cases both ways; a case of an agency the officer
    does not work for is found by neither."""
    from agencies.models import Agency

    visible_agency = Agency.objects.get(code="hung-yen-svhttdl")
    stranger = Agency.objects.get(code="hung-yen-skhcn")
    officer = UserFactory(roles=[r.LICENSING_OFFICER], agencies=[visible_agency])
    hidden = next(iter(desk.values()))
    Case.objects.filter(pk=hidden.pk).update(agency=stranger)
    client = APIClient()
    client.force_authenticate(officer)

    def found(query):
        return {row["id"] for row in client.get("/api/v1/cases/", {"q": query, "page_size": 100}).json()["results"]}

    for share in (0.9, 0.1):
        monkeypatch.setattr("cases.selectors.cases_share_of_agencies", lambda ids, share=share: share)
        results = {query: found(query) for query, _expected in SEARCHES}
        if share == 0.9:
            alone = results
        else:
            assert results == alone
        assert all(hidden.pk not in ids for ids in results.values())
    assert any(alone.values())


def test_the_share_of_cases_comes_from_postgresql_statistics(officer):
    """cases_share_of_agencies reads what ANALYZE found: 30 cases of one agency and 10 of another."""
    from agencies.models import Agency
    from cases.selectors import _share_cache, cases_share_of_agencies

    first, second = Agency.objects.get(code="hung-yen-svhttdl"), Agency.objects.get(code="thai-binh-stttt")
    cases = [case_make(actor=officer) for _ in range(40)]
    Case.objects.filter(pk__in=[c.pk for c in cases[:30]]).update(agency=first)
    Case.objects.filter(pk__in=[c.pk for c in cases[30:]]).update(agency=second)
    others = Case.objects.exclude(pk__in=[c.pk for c in cases]).count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cases_case")
    _share_cache.clear()
    total = 40 + others
    assert cases_share_of_agencies({first.pk}) == pytest.approx(30 / total, abs=0.02)
    assert cases_share_of_agencies({first.pk, second.pk}) == pytest.approx(40 / total, abs=0.02)
    _share_cache.clear()


def test_an_empty_search_or_one_without_words_finds_only_codes():
    assert not Case.objects.filter(search_q("  ", words_in=("subject_name",))).exists()
    assert not Case.objects.filter(search_q("--", words_in=("subject_name",))).exists()


# --- Cases: the API list and the officers' page -----------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_the_case_list_searches_words_without_accents(api, officer, desk, query, expected):
    rows = api.as_user(officer).get("/api/v1/cases/", {"q": query}).json()["results"]
    assert found(desk, rows) == expected


def test_the_case_list_still_finds_references_as_typed(api, officer, desk):
    client = api.as_user(officer)
    reference = desk["duc"].reference
    assert found(desk, client.get("/api/v1/cases/", {"q": reference}).json()["results"]) == {"duc"}
    assert found(desk, client.get("/api/v1/cases/", {"q": reference[:6]}).json()["results"]) == {
        "minh_phat", "duc", "other"}  # "GPIN-2": the printing licences' prefix


def test_the_case_search_keeps_each_users_scope(api, officer, lead, head, desk):
    assert found(desk, api.as_user(officer).get("/api/v1/cases/", {"q": "minh phat"}).json()["results"]) == {
        "minh_phat"}
    assert found(desk, api.as_user(lead).get("/api/v1/cases/", {"q": "minh phat"}).json()["results"]) == {
        "inspection"}
    assert found(desk, api.as_user(head).get("/api/v1/cases/", {"q": "MINH PHAT"}).json()["results"]) == {
        "minh_phat", "inspection"}
    body = api.as_user(head).get("/api/v1/cases/", {"q": "minh phat"}).json()
    assert (body["count"], body["count_exact"]) == (2, True)


@pytest.mark.parametrize(("query", "expected"), [
    ("minh phat", {"minh_phat"}), ("MINH PHÁT", {"minh_phat"}), ("duc", {"duc"}), ("đức", {"duc"}),
    ("tnhh", {"minh_phat"}), ("inh", set()), ("hoàng long", set()),
])
def test_the_officers_search_finds_the_same_cases(client, officer, lead, desk, query, expected):
    client.force_login(officer)
    response = client.get(reverse("licensing:queue"), {"q": query})
    assert response.status_code == 200
    assert found(desk, [{"id": case.pk} for case in response.context["found"]]) == expected
    block = response.content.decode().split('id="find"', 1)[1].split("</section>", 1)[0]
    assert {name for name, case in desk.items() if case.reference in block} == expected
    client.force_login(lead)  # the officers' pages are the licensing roles'
    assert client.get(reverse("licensing:queue"), {"q": query}).status_code == 403


# --- Organisations, permits, establishments -----------------------------------------------------------------


def test_organisations_are_found_without_accents(api, officer, inspector):
    url = "/api/v1/licensing/organisations/"

    def register(**body):  # as an officer registers an applicant
        response = api.as_user(officer).post(url, {"kind": "company", **body}, format="json")
        assert response.status_code in (200, 201), response.content
        return Organisation.objects.get(pk=response.json()["id"])

    minh_phat = register(name="Công ty TNHH Minh Phát", tax_code="1000123456", address="Số 5 Lý Bôn, TP Thái Bình")
    duc = register(name="Cơ sở in Đức Thịnh", address="Xã Đông Hưng")
    register(name="Trường THPT Bắc Duyên Hà", address="Huyện Hưng Hà")
    for user in (officer, inspector):  # every department role reads the registry
        client = api.as_user(user)

        def ids(query):
            response = client.get(url, {"q": query})  # noqa: B023
            assert response.status_code == 200, response.content
            return {row["id"] for row in response.json()["results"]}

        assert ids("minh phat") == ids("MINH PHÁT") == ids("tnhh") == ids("minh ph*") == {minh_phat.pk}
        assert ids("đức") == ids("duc") == ids("dong hung") == {duc.pk}  # name and address
        assert ids("1000123") == {minh_phat.pk}  # the tax code as typed
        assert ids("inh") == ids("hoàng long") == set()
    assert api.as_user(UserFactory()).get(url, {"q": "minh phat"}).status_code == 403  # no role, no registry


def _permit(officer, *, number: int, holder: str, title: str) -> Permit:
    case = case_make(actor=officer, type_code="bulletin", subject_name=holder)
    organisation = case.dossier.organisation  # the holder, registered with the dossier
    document = IssuedDocument.objects.create(case=case, kind="permit", series="GP", year=2026, number=number,
                                             number_text=f"{number:02d}/GP-STTTT", sha256="0" * 64)
    return Permit.objects.create(case=case, document=document, number_text=document.number_text,
                                 procedure="bulletin", result_unit="GP", holder=organisation, title=title,
                                 issued_at=timezone.now())


def test_permits_are_found_without_accents_in_the_api_and_the_registry_page(api, client, officer, inspector):
    _permit(officer, number=1, holder="Công ty TNHH Minh Phát", title="Bản tin nội bộ")
    _permit(officer, number=2, holder="Cơ sở in Đức Thịnh", title="Bản tin Đông Hưng")
    _permit(officer, number=3, holder="Trường THPT Bắc Duyên Hà", title="Kỷ yếu")
    searches = [("minh phat", {"01"}), ("MINH PHÁT", {"01"}), ("tnhh", {"01"}), ("duc", {"02"}), ("đức", {"02"}),
                ("dong hung", {"02"}),  # the title's words
                ("noi bo", {"01"}), ("02/GP", {"02"}),  # the number as typed
                ("inh", set()), ("hoàng long", set())]
    api_client = api.as_user(officer)
    client.force_login(officer)
    for query, expected in searches:
        rows = api_client.get("/api/v1/licensing/permits/", {"q": query}).json()["results"]
        assert {row["number_text"][:2] for row in rows} == expected, query
        html = client.get(reverse("licensing:permits"), {"q": query}).content.decode()
        assert set(re.findall(r"<strong class=\"number\">(\d\d)/GP-STTTT</strong>", html)) == expected, query
    client.force_login(inspector)  # the registry page is the licensing roles'
    assert client.get(reverse("licensing:permits"), {"q": "minh phat"}).status_code == 403


def test_establishments_are_found_without_accents(api, lead, inspector, officer):
    minh_phat = shop(1, name="Cơ sở in Minh Phát", address="Số 5 Lý Bôn, TP Thái Bình")
    duc = shop(2, Establishment.Kind.BTS_SITE, name="Trạm BTS Đức Thịnh", address="Xã Đông Hưng",
               operator="MobiFone")
    shop(3, name="Photocopy Bắc Duyên Hà", address="Huyện Hưng Hà")
    url = "/api/v1/inspections/establishments/"
    for user in (lead, inspector):
        client = api.as_user(user)

        def ids(query):
            response = client.get(url, {"q": query})  # noqa: B023
            assert response.status_code == 200, response.content
            return {row["id"] for row in response.json()["results"]}

        assert ids("minh phat") == ids("MINH PHÁT") == ids("ly bon") == ids("minh ph*") == {minh_phat.pk}
        assert ids("đức") == ids("duc") == ids("mobifone") == ids("TBH002") == {duc.pk}  # operator, site code
        assert ids("thai binh") == {minh_phat.pk}  # a word in the middle of the address
        assert ids("inh") == ids("hoàng long") == set()
    assert api.as_user(officer).get(url, {"q": "minh phat"}).status_code == 403  # inspection roles' registry


def test_campaigns_are_found_without_accents(api, lead, inspector, officer):
    duc = campaign_make(lead=lead, members=[inspector], title="Kiểm tra cơ sở in Đức Thịnh")
    other = campaign_make(lead=lead, title="Kiểm tra đại lý Internet")

    def ids(user, query):
        response = api.as_user(user).get("/api/v1/inspections/campaigns/", {"q": query})
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids(lead, "duc thinh") == ids(lead, "ĐỨC THỊNH") == ids(inspector, "duc") == {duc.pk}
    assert ids(lead, "internet") == {other.pk} and ids(inspector, "internet") == set()  # not on that team
    assert ids(lead, duc.case.reference) == {duc.pk}  # the reference as typed
    assert ids(lead, "inh") == ids(officer, "duc") == set()


def test_a_user_without_a_role_finds_nothing(api, desk):
    nobody = UserFactory()
    assert api.as_user(nobody).get("/api/v1/cases/", {"q": "minh phat"}).status_code == 403
    reporter = UserFactory(roles=[r.REPORTER])  # reads every case
    rows = api.as_user(reporter).get("/api/v1/cases/", {"q": "minh phat"}).json()["results"]
    assert found(desk, rows) == {"minh_phat", "inspection"}
