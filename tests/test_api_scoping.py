"""Who sees which cases in lists and details, what a read-only role may not do, and the list's filters."""

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from cases import roles as r
from cases import services
from cases.models import Attachment, Case, CaseEvent

from .factories import UserFactory, case_make
from .support_licensing import application_body

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def ordered_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def png_file(name="anh.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 120, 200)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = name
    return buffer


@pytest.fixture
def world(officer, head, inspector, lead):
    """Two licensing cases and three inspection cases: one with the inspector on the team, one assigned to
    them, one they have nothing to do with."""
    lic_a = case_make(actor=officer, subject_name="Công ty In Hoàng Long")
    lic_b = case_make(actor=officer, type_code="bulletin", subject_name="Bản tin Hội Nông dân")
    insp_member = case_make(actor=lead, type_code="prepaid_sim", subject_name="Điểm bán SIM 12 Lê Lợi")
    insp_member.members.add(inspector)
    insp_assigned = case_make(actor=lead, type_code="bts_station", subject_name="Trạm BTS TBH-045")
    services.case_assign(case_id=insp_assigned.pk, actor=lead, assignee=inspector)
    insp_other = case_make(actor=lead, type_code="printing", subject_name="Cửa hàng photocopy Minh Anh")
    return {"lic_a": lic_a, "lic_b": lic_b, "insp_member": insp_member, "insp_assigned": insp_assigned,
            "insp_other": insp_other}


def pks(world, *names) -> set[int]:
    return {world[name].pk for name in names}


ALL = ("lic_a", "lic_b", "insp_member", "insp_assigned", "insp_other")


@pytest.mark.parametrize(("role", "visible"), [
    (r.INSPECTOR, ("insp_member", "insp_assigned")),
    (r.INSPECTION_LEAD, ("insp_member", "insp_assigned", "insp_other")),
    (r.LICENSING_OFFICER, ("lic_a", "lic_b")),
    (r.REPORTER, ALL),
    (r.DEPARTMENT_HEAD, ALL),
    (r.ADMINISTRATOR, ALL),
])
def test_list_and_detail_scoping(api, users, world, role, visible):
    client = api.as_user(users[role])
    response = client.get("/api/v1/cases/", {"page_size": 100})
    assert ids(response) == pks(world, *visible)
    assert response.json()["count"] == len(visible)
    for name in ALL:
        detail = client.get(f"/api/v1/cases/{world[name].pk}/")
        events = client.get(f"/api/v1/cases/{world[name].pk}/events/")
        files = client.get(f"/api/v1/cases/{world[name].pk}/attachments/")
        if name in visible:
            assert detail.status_code == 200, (name, detail.status_code)
            assert detail.json()["reference"] == world[name].reference
            assert events.status_code == 200 and files.status_code == 200
        else:
            assert detail.status_code == 404, (name, detail.status_code)
            assert detail.json()["code"] == "not_found"
            assert events.status_code == 404 and files.status_code == 404
            # The 404 says nothing about the case.
            assert world[name].reference not in detail.content.decode()


def test_inspector_loses_sight_when_taken_off_the_team(api, inspector, world):
    client = api.as_user(inspector)
    assert world["insp_member"].pk in ids(client.get("/api/v1/cases/"))
    world["insp_member"].members.remove(inspector)
    assert world["insp_member"].pk not in ids(client.get("/api/v1/cases/"))
    assert client.get(f"/api/v1/cases/{world['insp_member'].pk}/").status_code == 404


def test_inspector_on_two_teams_sees_each_case_once(api, inspector, lead, world):
    world["insp_assigned"].members.add(inspector, lead)  # assignee and member at once, plus another member
    response = api.as_user(inspector).get("/api/v1/cases/")
    rows = [row["id"] for row in response.json()["results"]]
    assert len(rows) == len(set(rows)) == 2
    assert response.json()["count"] == 2


def test_someone_elses_attachment_cannot_be_downloaded_by_an_outsider(api, officer, inspector, world):
    case = world["lic_a"]
    upload = api.as_user(officer).post(f"/api/v1/cases/{case.pk}/attachments/", {"file": png_file()},
                                       format="multipart")
    assert upload.status_code == 201
    attachment_id = upload.json()["id"]
    response = api.as_user(inspector).get(f"/api/v1/cases/{case.pk}/attachments/{attachment_id}/download/")
    assert response.status_code == 404
    # Nor through another case the inspector can see.
    other = world["insp_member"]
    response = api.as_user(inspector).get(f"/api/v1/cases/{other.pk}/attachments/{attachment_id}/download/")
    assert response.status_code == 404


def test_inspector_works_on_their_case_but_not_on_others(api, inspector, world):
    client = api.as_user(inspector)
    mine = world["insp_member"]
    response = client.post(f"/api/v1/cases/{mine.pk}/notes/", {"text": "Điểm bán đóng cửa lúc 9h."}, format="json")
    assert response.status_code == 201
    response = client.post(f"/api/v1/cases/{mine.pk}/attachments/", {"file": png_file()}, format="multipart")
    assert response.status_code == 201
    for name in ("insp_other", "lic_a"):
        response = client.post(f"/api/v1/cases/{world[name].pk}/notes/", {"text": "x"}, format="json")
        assert response.status_code == 404
    assert not CaseEvent.objects.filter(case__in=[world["insp_other"], world["lic_a"]], kind="note").exists()


@pytest.mark.parametrize("name", ["lic_a", "insp_member"])
def test_reporter_reads_but_cannot_write(api, reporter, world, name):
    case = world[name]
    client = api.as_user(reporter)
    assert client.get(f"/api/v1/cases/{case.pk}/").status_code == 200
    events_before = case.events.count()
    version_before = case.version
    files_before = Attachment.objects.filter(case=case).count()  # a licensing dossier's required file
    first_action = "start_review" if name.startswith("lic") else "announce"

    note = client.post(f"/api/v1/cases/{case.pk}/notes/", {"text": "Văn phòng ghi chú"}, format="json")
    upload = client.post(f"/api/v1/cases/{case.pk}/attachments/", {"file": png_file()}, format="multipart")
    transition = client.post(f"/api/v1/cases/{case.pk}/transitions/",
                             {"action": first_action, "version": case.version}, format="json")
    assign = client.post(f"/api/v1/cases/{case.pk}/assign/", {"assignee": None, "version": case.version},
                         format="json")
    create = client.post("/api/v1/cases/", {"type": "prepaid_sim", "subject_name": "Điểm bán SIM X"}, format="json")
    receive = client.post("/api/v1/licensing/applications/", application_body("bulletin"), format="json")

    for response in (note, upload, transition, assign, create, receive):
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission"
    # A licensing type is not opened at the bare case door by anyone: its dossier has its own door.
    bare = client.post("/api/v1/cases/", {"type": "bulletin", "subject_name": "Bản tin X"}, format="json")
    assert bare.status_code == 400 and bare.json()["code"] == "validation", bare.content
    case.refresh_from_db()
    assert case.events.count() == events_before
    assert case.version == version_before
    assert Attachment.objects.filter(case=case).count() == files_before
    assert Case.objects.count() == 5


def test_only_head_assigns_licensing_cases(api, officer, officer2, head, world):
    case = world["lic_a"]
    response = api.as_user(officer).post(f"/api/v1/cases/{case.pk}/assign/",
                                         {"assignee": officer.pk, "version": case.version}, format="json")
    assert response.status_code == 403
    response = api.as_user(head).post(f"/api/v1/cases/{case.pk}/assign/",
                                      {"assignee": officer2.pk, "version": case.version}, format="json")
    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == officer2.pk
    assert response.json()["version"] == case.version + 1


# --- List filters ---------------------------------------------------------------------------------


def at(y, m, d, hh=9, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=VN)


@pytest.fixture
def desk(officer, officer2, head):
    """Licensing cases with known dates, states and assignees (all seen by the head)."""
    now = timezone.now()
    # Received in January 2024, in review, assigned to officer: long overdue.
    jan = case_make(actor=officer, received_at=at(2024, 1, 10), path=("start_review",),
                    subject_name="Công ty TNHH In Hoàng Long")
    services.case_assign(case_id=jan.pk, actor=head, assignee=officer)
    # Received in February 2024, granted on 1 March 2024 (decided, so never overdue).
    feb = case_make(actor=officer, type_code="bulletin", received_at=at(2024, 2, 15),
                    subject_name="Bản tin Hội Cựu chiến binh", summary="Bản tin nội bộ hằng quý")
    services.case_assign(case_id=feb.pk, actor=head, assignee=officer2)
    with time_machine.travel(at(2024, 3, 1, 10), tick=False):
        for action, by in (("start_review", officer), ("propose_grant", officer), ("approve", head)):
            services.case_transition(case_id=feb.pk, actor=by, action=action)
    # Received in April 2024, refused on 20 May 2024.
    apr = case_make(actor=officer, type_code="bulletin", received_at=at(2024, 4, 2),
                    subject_name="Bản tin Đài Phát thanh")
    with time_machine.travel(at(2024, 5, 20, 15), tick=False):
        services.case_transition(case_id=apr.pk, actor=officer, action="start_review")
        services.case_transition(case_id=apr.pk, actor=officer, action="propose_refusal", note="Sai tôn chỉ.")
        services.case_transition(case_id=apr.pk, actor=head, action="refuse", note="Sai tôn chỉ, mục đích.")
    # A press conference notified an hour ago: 12-hour limit, due soon, not overdue.
    soon = case_make(actor=officer, type_code="press_conference", received_at=now - timedelta(hours=1),
                     subject_name="Họp báo Lễ hội Đền Trần")
    # A press conference notified 20 hours ago and still unanswered: overdue.
    late = case_make(actor=officer, type_code="press_conference", received_at=now - timedelta(hours=20),
                     subject_name="Họp báo Công ty Thái Hà")
    # A fresh printing licence: due weeks from now, paused waiting for a supplement.
    paused = case_make(actor=officer, received_at=now - timedelta(hours=2), path=("request_supplement",),
                       subject_name="Cơ sở in Minh Phát")
    cases = {"jan": jan, "feb": feb, "apr": apr, "soon": soon, "late": late, "paused": paused}
    for case in cases.values():
        case.refresh_from_db()
    return cases


def names(desk, response) -> set[str]:
    by_id = {c.pk: n for n, c in desk.items()}
    return {by_id[i] for i in ids(response)}


def test_desk_fixture_is_what_the_filters_assume(desk):
    assert desk["feb"].state == "approved" and desk["feb"].decided_at == at(2024, 3, 1, 10)
    assert desk["apr"].state == "refused" and desk["apr"].decided_at == at(2024, 5, 20, 15)
    assert desk["soon"].due_at is not None and desk["soon"].due_at - desk["soon"].received_at == timedelta(hours=12)


@pytest.mark.parametrize(("params", "expected"), [
    ({}, {"jan", "feb", "apr", "soon", "late", "paused"}),
    ({"type": "bulletin"}, {"feb", "apr"}),
    ({"type": "press_conference"}, {"soon", "late"}),
    ({"domain": "inspection"}, set()),
    ({"state": "in_review"}, {"jan"}),
    ({"state": ["approved", "refused"]}, {"feb", "apr"}),
    ({"state": ["received", "supplement_requested"]}, {"soon", "late", "paused"}),
    ({"received_after": "2024-02-01T00:00:00+07:00", "received_before": "2024-04-01T00:00:00+07:00"}, {"feb"}),
    ({"received_before": "2024-02-15T09:00:00+07:00"}, {"jan"}),  # "before" excludes the instant itself
    ({"received_after": "2024-02-15T09:00:00+07:00", "type": "bulletin"}, {"feb", "apr"}),
    ({"decided_after": "2024-04-01T00:00:00+07:00"}, {"apr"}),
    ({"decided_before": "2024-04-01T00:00:00+07:00"}, {"feb"}),
    ({"decided_after": "2024-01-01T00:00:00+07:00", "decided_before": "2025-01-01T00:00:00+07:00"}, {"feb", "apr"}),
    ({"overdue": "true"}, {"jan", "late"}),
    ({"overdue": "false"}, {"feb", "apr", "soon", "paused"}),
    ({"due_soon": "true"}, {"soon"}),
    ({"q": "hoàng long"}, {"jan"}),
    ({"q": "ĐÀI PHÁT"}, {"apr"}),
    ({"q": "họp báo"}, {"soon", "late"}),
    ({"q": "nội bộ"}, {"feb"}),  # summary
    ({"q": "GPIN-"}, {"jan", "paused"}),  # reference
    ({"q": "không có"}, set()),
])
def test_list_filters(api, head, desk, params, expected):
    response = api.as_user(head).get("/api/v1/cases/", params)
    assert names(desk, response) == expected


def test_assignee_filter(api, head, officer, officer2, desk):
    client = api.as_user(head)
    assert names(desk, client.get("/api/v1/cases/", {"assignee": officer.pk})) == {"jan"}
    assert names(desk, client.get("/api/v1/cases/", {"assignee": officer2.pk})) == {"feb"}
    unassigned = names(desk, client.get("/api/v1/cases/", {"unassigned": "true"}))
    assert unassigned == {"apr", "soon", "late", "paused"}


def test_reference_search_finds_exactly_one(api, head, desk):
    reference = desk["late"].reference
    assert names(desk, api.as_user(head).get("/api/v1/cases/", {"q": reference})) == {"late"}


def test_overdue_flag_in_the_list_matches_the_filter(api, head, desk):
    rows = api.as_user(head).get("/api/v1/cases/").json()["results"]
    flagged = {row["id"] for row in rows if row["is_overdue"]}
    assert flagged == {desk["jan"].pk, desk["late"].pk}


def test_ordering(api, head, desk):
    client = api.as_user(head)
    default = ordered_ids(client.get("/api/v1/cases/"))
    by_received = sorted(desk.values(), key=lambda c: c.received_at, reverse=True)
    assert default == [c.pk for c in by_received]  # newest first
    ascending = ordered_ids(client.get("/api/v1/cases/", {"ordering": "received_at"}))
    assert ascending == [c.pk for c in reversed(by_received)]
    by_reference = ordered_ids(client.get("/api/v1/cases/", {"ordering": "-reference"}))
    assert by_reference == [c.pk for c in sorted(desk.values(), key=lambda c: c.reference, reverse=True)]
    decided = ordered_ids(client.get("/api/v1/cases/", {"ordering": "decided_at", "state": ["approved", "refused"]}))
    assert decided == [desk["feb"].pk, desk["apr"].pk]
    by_due = ordered_ids(client.get("/api/v1/cases/", {"ordering": "due_at", "type": "press_conference"}))
    assert by_due == [desk["late"].pk, desk["soon"].pk]


def test_page_size_and_pages(api, head, desk):
    client = api.as_user(head)
    first = client.get("/api/v1/cases/", {"page_size": 4})
    body = first.json()
    assert body["count"] == 6 and len(body["results"]) == 4 and body["next"]
    second = client.get("/api/v1/cases/", {"page_size": 4, "page": 2}).json()
    assert len(second["results"]) == 2 and second["next"] is None
    seen = [row["id"] for row in body["results"] + second["results"]]
    assert sorted(seen) == sorted(c.pk for c in desk.values())
    assert client.get("/api/v1/cases/", {"page_size": 4, "page": 9}).status_code == 404


def test_past_the_count_cap_the_list_says_more_than_and_still_pages(api, head, desk, settings):
    settings.API_LIST_COUNT_CAP = 4
    client = api.as_user(head)
    first = client.get("/api/v1/cases/", {"page_size": 3}).json()
    assert (first["count"], first["count_exact"], len(first["results"])) == (4, False, 3)
    # The list serves the first `cap` rows in its order; past them the user narrows the filter.
    second = client.get("/api/v1/cases/", {"page_size": 3, "page": 2}).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}
    assert client.get("/api/v1/cases/", {"page_size": 3, "page": 3}).status_code == 404
    narrowed = client.get("/api/v1/cases/", {"page_size": 3, "type": "press_conference"}).json()
    assert narrowed["count_exact"] is True and narrowed["count"] == len(
        [c for c in desk.values() if c.case_type.code == "press_conference"])
    settings.API_LIST_COUNT_CAP = 6
    assert client.get("/api/v1/cases/").json()["count_exact"] is True


@pytest.mark.parametrize("cap", [100, 4])
def test_a_text_search_pages_like_any_list_in_the_same_order(api, head, desk, settings, cap):
    """A search is read as its ids, then a page's rows: order, count, pages and links stay those of a list."""
    settings.API_LIST_COUNT_CAP = cap
    client = api.as_user(head)
    search = {"q": "-20", "ordering": "-received_at", "page_size": 2}  # every reference holds its year
    expected = ordered_ids(client.get("/api/v1/cases/", {"ordering": "-received_at", "page_size": 100}))[:cap]
    first = client.get("/api/v1/cases/", search).json()
    assert (first["count"], first["count_exact"]) == (min(6, cap), cap >= 6)
    pages, body, page = [], first, 1
    while True:
        pages.append([row["id"] for row in body["results"]])
        assert all(set(row) >= {"reference", "type", "assignee", "is_overdue"} for row in body["results"])
        if not body["next"]:
            break
        page += 1
        body = client.get("/api/v1/cases/", {**search, "page": page}).json()
        assert body["previous"]
    assert [pk for rows in pages for pk in rows] == expected
    assert client.get("/api/v1/cases/", {**search, "page": page + 1}).status_code == 404


def test_page_size_is_capped_at_100(api, officer, head):
    from cases.models import CaseType

    case_type = CaseType.objects.get(code="printing_licence")
    for n in range(105):
        services.case_create(actor=officer, case_type=case_type, subject_name=f"Cơ sở in số {n}")
    body = api.as_user(head).get("/api/v1/cases/", {"page_size": 1000}).json()
    assert body["count"] == 105
    assert len(body["results"]) == 100


# --- The list's cost does not grow with the page --------------------------------------------------


@pytest.fixture
def many_cases(officer, officer2, head, lead, inspector):
    for n in range(15):
        officer_n = officer if n % 2 else officer2
        case = case_make(actor=officer, subject_name=f"Cơ sở in số {n}")
        services.case_assign(case_id=case.pk, actor=head, assignee=officer_n)
    for n in range(15):
        case = case_make(actor=lead, type_code="prepaid_sim", subject_name=f"Điểm bán SIM số {n}")
        case.members.add(inspector)
        services.case_assign(case_id=case.pk, actor=lead, assignee=inspector if n % 2 else lead)


def _count_list_queries(client, page_size: int) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/cases/", {"page_size": page_size})
    assert response.status_code == 200
    assert len(response.json()["results"]) == min(page_size, response.json()["count"])
    return len(queries)


@pytest.mark.parametrize("role", [r.DEPARTMENT_HEAD, r.LICENSING_OFFICER, r.INSPECTOR])
def test_list_query_count_does_not_depend_on_page_size(api, users, many_cases, role):
    client = api.as_user(users[role])
    small = _count_list_queries(client, 10)
    large = _count_list_queries(client, 100)
    assert small == large
    assert large <= 6


def test_list_query_count_with_django_assert_num_queries(api, head, many_cases, django_assert_num_queries):
    client = api.as_user(head)
    expected = _count_list_queries(client, 10)
    with django_assert_num_queries(expected):
        client.get("/api/v1/cases/", {"page_size": 60})


def test_no_role_user_sees_nothing(api, world):
    response = api.as_user(UserFactory()).get("/api/v1/cases/")
    assert response.status_code == 403
