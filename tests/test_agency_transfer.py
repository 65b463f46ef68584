"""The reorganisation of 01/03/2025: the open cases of the Sở TTTT Thái Bình move to its successors (licensing and
print/publication inspections to the Sở VHTTDL, telecom inspections to the Sở KH&CN), each with one TRANSFER line
on its timeline and nothing else changed; closed cases stay with the old agency; a second run moves nothing; a type
no successor handles stops the whole run; a transition racing the transfer is never lost; afterwards the
successor's staff work on the case and the old agency's staff (who see only their agency and its predecessors) no
longer see it."""

import io
import json
import time
import uuid
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agencies.models import Agency, Membership
from cases import roles as r
from cases import services
from cases.models import Case, CaseEvent, CaseType, CaseTypeAgency
from cases.transfer import TransferRefused, agency_transfer
from cases.workflow import TERMINAL, WORKFLOWS, State
from inspections import services as inspections
from inspections.models import Establishment, FollowUp
from licensing import services as licensing

from .factories import UserFactory, case_make
from .support_concurrency import run_together
from .support_inspections import campaign_make, checklists_load

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
STTTT, VH, KH = "thai-binh-stttt", "thai-binh-svhttdl", "thai-binh-skhcn"
REORGANISED = date(2025, 3, 1)


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=HCM)


def agency(code: str) -> Agency:
    return Agency.objects.get(code=code)


@pytest.fixture
def staff(db):
    """The old department's staff (its agency only), the successors' staff, and the administrator."""
    return SimpleNamespace(
        officer=UserFactory(roles=[r.LICENSING_OFFICER], agencies=[STTTT]),
        moved_officer=UserFactory(roles=[r.LICENSING_OFFICER], agencies=[STTTT, VH]),  # went on to the Sở VHTTDL
        head=UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=[STTTT]),
        lead=UserFactory(roles=[r.INSPECTION_LEAD], agencies=[STTTT]),
        inspector=UserFactory(roles=[r.INSPECTOR], agencies=[STTTT]),
        vh_officer=UserFactory(roles=[r.LICENSING_OFFICER], agencies=[VH]),
        vh_head=UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=[VH]),
        kh_lead=UserFactory(roles=[r.INSPECTION_LEAD], agencies=[KH]),
        admin=UserFactory(roles=[r.ADMINISTRATOR], agencies=[], is_staff=True, is_superuser=True),
    )


def licensing_case(staff, when: datetime, type_code: str, path=(), *, issue=False, revoke=False, assignee=None):
    with time_machine.travel(when, tick=False):
        case = case_make(actor=staff.officer, head=staff.head, type_code=type_code, path=path,
                         subject_name=f"Hồ sơ {type_code} {when:%d/%m}")
        if assignee is not None:
            services.case_assign(case_id=case.pk, actor=staff.head, assignee=assignee)
        if issue:
            licensing.result_issue(case_id=case.pk)
        if revoke:
            services.case_transition(case_id=case.pk, actor=staff.head, action="revoke", note="Thu hồi giấy phép.")
    case.refresh_from_db()
    return case


def visited(staff, campaign, *, violation: bool):
    """Every target visited with one finding (a violation or compliant) and its outcome recorded."""
    item = next(item for item in campaign.checklist.items.order_by("order") if not item.photo_required)
    for target in campaign.targets.all():
        inspections.finding_submit(actor=staff.inspector, uuid=uuid.uuid4(), target_id=target.pk, item_id=item.pk,
                                   result="violation" if violation else "compliant", device_time=timezone.now(),
                                   note="Chưa đăng ký hoạt động" if violation else "")
        inspections.target_outcome_set(actor=staff.inspector, target_id=target.pk,
                                       outcome="violation" if violation else "compliant",
                                       violation_description="Hoạt động khi chưa đăng ký" if violation else "")


def follow_up_opened(staff, campaign) -> FollowUp:
    target = campaign.targets.get()
    sanction = target.violation.sanction
    inspections.sanction_decide(actor=staff.lead, sanction_id=sanction.pk, fine_vnd=3_000_000,
                                remedial_measures="Buộc đăng ký hoạt động")
    return inspections.follow_up_record(actor=staff.inspector, violation_id=target.violation.pk,
                                        correction_due_on=date(2025, 4, 30), note="Kiểm tra lại việc đăng ký")


def campaign_case(staff, when: datetime, type_code: str, kind: str, path=(), *, violation=None, follow_up=None,
                  closed=False, imported_follow_up=False):
    """A campaign of the Sở TTTT walked to a state; with violation=True/False the targets are visited first."""
    with time_machine.travel(when, tick=False):
        campaign = campaign_make(lead=staff.lead, members=[staff.inspector], type_code=type_code, shops=1, kind=kind,
                                 path=path, title=f"Kiểm tra {type_code} {when:%d/%m}")
        if violation is not None:
            visited(staff, campaign, violation=violation)
            follow = follow_up_opened(staff, campaign) if violation else None
            if follow is not None and follow_up == "done":
                inspections.follow_up_done(actor=staff.inspector, follow_up_id=follow.pk, done_note="Đã khắc phục")
            services.case_transition(case_id=campaign.case_id, actor=staff.lead, action="close_findings")
            inspections.campaign_conclude(actor=staff.lead, campaign_id=campaign.pk, conclusion="Đã kết luận.")
            if closed:
                services.case_transition(case_id=campaign.case_id, actor=staff.lead, action="close")
            if imported_follow_up:
                # A correction still to verify, carried over from the paper register after the campaign closed.
                FollowUp.objects.create(violation=campaign.targets.get().violation, correction_due_on=date(2025, 5, 15),
                                        note="Chuyển từ sổ theo dõi giấy", created_by=staff.lead)
    case = Case.objects.get(pk=campaign.case_id)
    return case


@pytest.fixture
def world(staff):
    """The Sở TTTT Thái Bình's cases received in January and February 2025, in every state."""
    checklists_load()
    cases = {
        # licensing: open
        "received": licensing_case(staff, at(1, 6), "printing_licence"),
        "in_review": licensing_case(staff, at(1, 8), "bulletin", ("start_review",), assignee=staff.officer),
        "supplement": licensing_case(staff, at(1, 10), "noncommercial_publication",
                                     ("start_review", "request_supplement"), assignee=staff.moved_officer),
        "proposed": licensing_case(staff, at(1, 13), "print_registration", ("start_review", "propose_grant")),
        "approved": licensing_case(staff, at(1, 15), "publication_import", ("start_review", "propose_grant", "approve")),
        "press": licensing_case(staff, at(2, 27, 15), "press_conference"),
        # licensing: closed
        "issued": licensing_case(staff, at(1, 17), "printing_licence", ("start_review", "propose_grant", "approve"),
                                 issue=True),
        "refused": licensing_case(staff, at(2, 3), "bulletin", ("start_review", "propose_refusal", "refuse")),
        "withdrawn": licensing_case(staff, at(2, 5), "press_conference", ("withdraw",)),
        "revoked": licensing_case(staff, at(2, 10), "noncommercial_publication",
                                  ("start_review", "propose_grant", "approve"), issue=True, revoke=True),
        # inspections: open
        "planned": campaign_case(staff, at(1, 20), "printing", Establishment.Kind.PRINT_SHOP),
        "announced": campaign_case(staff, at(1, 21), "publication_distribution",
                                   Establishment.Kind.PUBLICATION_DISTRIBUTOR, ("announce",)),
        "in_field": campaign_case(staff, at(2, 4), "prepaid_sim", Establishment.Kind.POINT_OF_SALE,
                                  ("announce", "start_fieldwork")),
        "concluded_follow_up": campaign_case(staff, at(2, 11), "bts_station", Establishment.Kind.BTS_SITE,
                                             ("announce", "start_fieldwork"), violation=True),
        # inspections: closed
        "closed": campaign_case(staff, at(2, 12), "conformity_labelling", Establishment.Kind.EQUIPMENT_RETAILER,
                                ("announce", "start_fieldwork"), violation=False, closed=True),
        "cancelled": campaign_case(staff, at(2, 13), "internet_service", Establishment.Kind.INTERNET_AGENT,
                                   ("cancel",)),
        "closed_follow_up": campaign_case(staff, at(2, 14), "printing", Establishment.Kind.PRINT_SHOP,
                                          ("announce", "start_fieldwork"), violation=True, follow_up="done",
                                          closed=True, imported_follow_up=True),
    }
    assert {case.agency.code for case in cases.values()} == {STTTT}
    return cases


TO_VH = {"received", "in_review", "supplement", "proposed", "approved", "press", "planned", "announced",
         "closed_follow_up"}
TO_KH = {"in_field", "concluded_follow_up"}
STAYING = {"issued", "refused", "withdrawn", "revoked", "closed", "cancelled"}


def snapshot(case: Case) -> dict:
    """Everything of a case a transfer must not change."""
    case = Case.objects.get(pk=case.pk)
    return {
        "reference": case.reference, "state": case.state, "due_at": case.due_at, "received_at": case.received_at,
        "paused_at": case.paused_at, "decided_at": case.decided_at, "closed_at": case.closed_at,
        "outcome": case.outcome, "result_number": case.result_number, "assignee": case.assignee_id,
        "members": sorted(case.members.values_list("pk", flat=True)), "clock_used": case.clock_used,
        "events": list(case.events.order_by("at", "id").values_list("pk", "kind", "action", "at")),
        "attachments": list(case.attachments.order_by("pk").values_list("pk", "sha256", "file")),
        "follow_ups": list(FollowUp.objects.filter(violation__target__campaign__case=case).order_by("pk")
                           .values_list("pk", "correction_due_on", "done_at")),
    }


def test_the_world_holds_every_state(world):
    states = {case.state for case in world.values()}
    assert states == {State.RECEIVED, State.IN_REVIEW, State.SUPPLEMENT_REQUESTED, State.PROPOSED, State.APPROVED,
                      State.ISSUED, State.REFUSED, State.WITHDRAWN, State.REVOKED, State.PLANNED, State.ANNOUNCED,
                      State.IN_FIELD, State.CONCLUDED, State.CLOSED, State.CANCELLED}
    assert FollowUp.objects.filter(violation__target__campaign__case=world["concluded_follow_up"],
                                   done_at__isnull=True).exists()
    assert not FollowUp.objects.filter(violation__target__campaign__case=world["closed"]).exists()


def test_the_dry_run_lists_exactly_the_open_cases_split_by_competence_and_writes_nothing(world, staff):
    before = {name: snapshot(case) for name, case in world.items()}
    events, versions = CaseEvent.objects.count(), dict(Case.objects.values_list("pk", "version"))

    plan = agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=staff.admin, dry_run=True)

    by_destination = {d.agency.code: {c.reference for c in d.cases} for d in plan.destinations}
    assert by_destination == {VH: {world[name].reference for name in TO_VH},
                              KH: {world[name].reference for name in TO_KH}}
    assert plan.errors == [] and plan.staying == [] and plan.moved == 0
    listed = {c.reference: c for c in plan.cases}
    assert listed[world["supplement"].reference].due_at == world["supplement"].due_at
    assert listed[world["approved"].reference].state == State.APPROVED
    assert listed[world["closed_follow_up"].reference].closed_with_open_work
    # The old department's people on moved cases who do not work for the successor: warned, never unassigned.
    warned = {(w.cases, w.message.split(" (")[0]) for w in plan.warnings}
    name = lambda user: user.get_full_name()  # noqa: E731
    assert warned == {
        ((world["in_review"].reference,), name(staff.officer)),
        *{((world[case].reference,), name(person)) for case in ("planned", "announced", "in_field",
                                                                "concluded_follow_up", "closed_follow_up")
          for person in (staff.lead, staff.inspector)},
    }
    # Nothing written.
    assert CaseEvent.objects.count() == events
    assert dict(Case.objects.values_list("pk", "version")) == versions
    assert {name: snapshot(case) for name, case in world.items()} == before
    assert set(Case.objects.values_list("agency__code", flat=True)) == {STTTT}


def test_the_run_moves_the_open_cases_with_one_transfer_event_each_and_nothing_else(world, staff):
    before = {name: snapshot(case) for name, case in world.items()}
    versions = dict(Case.objects.values_list("pk", "version"))

    plan = agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=staff.admin, dry_run=False,
                           note="Quyết định số 15/QĐ-UBND")

    assert plan.moved == len(TO_VH) + len(TO_KH)
    for name, case in world.items():
        case.refresh_from_db()
        expected = VH if name in TO_VH else KH if name in TO_KH else STTTT
        assert case.agency.code == expected, name
        transfers = list(case.events.filter(kind=CaseEvent.Kind.TRANSFER))
        now = snapshot(case)
        if expected == STTTT:
            assert transfers == [] and now == before[name] and case.version == versions[case.pk], name
            continue
        [event] = transfers
        assert (event.actor, event.before["agency_name"], event.after["agency_name"]) == (
            staff.admin, "Sở Thông tin và Truyền thông (Thái Bình)",
            "Sở Văn hóa, Thể thao và Du lịch (Thái Bình)" if expected == VH else "Sở Khoa học và Công nghệ (Thái Bình)")
        assert event.after["on"] == "2025-03-01" and "15/QĐ-UBND" in event.note and "01/03/2025" in event.note
        assert case.version == versions[case.pk] + 1
        # Reference, state, due date, clock, assignee and team, follow-ups and files: as they were; the timeline is
        # the old one plus the transfer at its end.
        assert now["events"][:-1] == before[name]["events"] and now["events"][-1][0] == event.pk
        assert {k: v for k, v in now.items() if k != "events"} == \
               {k: v for k, v in before[name].items() if k != "events"}, name
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFER).count() == plan.moved

    again = agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=staff.admin, dry_run=False)
    assert (again.moved, again.cases, again.errors) == (0, [], [])
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFER).count() == plan.moved


def test_a_type_no_successor_handles_refuses_the_whole_run_until_it_is_mapped(world, staff):
    # The competence table lacks the BTS inspections of the Sở KH&CN Thái Bình.
    CaseTypeAgency.objects.filter(case_type__code="bts_station", agency__code=KH).delete()
    events = CaseEvent.objects.count()

    dry = agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=staff.admin, dry_run=True)
    [error] = dry.errors
    assert (error.code, error.case_type, error.cases) == ("no_successor", "bts_station",
                                                          (world["concluded_follow_up"].reference,))
    with pytest.raises(TransferRefused) as refused:
        agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=staff.admin, dry_run=False)
    assert refused.value.plan.errors == dry.errors
    assert set(Case.objects.values_list("agency__code", flat=True)) == {STTTT}
    assert CaseEvent.objects.count() == events

    plan = agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=staff.admin, dry_run=False,
                           mapping={"bts_station": agency(KH)})
    assert plan.moved == len(TO_VH) + len(TO_KH)
    world["concluded_follow_up"].refresh_from_db()
    assert world["concluded_follow_up"].agency.code == KH


def test_a_date_before_the_successors_exist_or_still_ahead_is_refused(world, staff):
    early = agency_transfer(agency=agency(STTTT), on=date(2025, 2, 1), actor=staff.admin, dry_run=True)
    assert early.destinations == [] and len(early.staying) == len(TO_VH) + len(TO_KH)  # it still handles them
    ahead = timezone.localdate().replace(year=timezone.localdate().year + 1)
    with pytest.raises(TransferRefused) as refused:
        agency_transfer(agency=agency(STTTT), on=ahead, actor=staff.admin, dry_run=False)
    assert "date_ahead" in {problem.code for problem in refused.value.plan.errors}
    assert set(Case.objects.values_list("agency__code", flat=True)) == {STTTT}


def test_only_an_administrator_transfers(world, staff):
    from cases.errors import NotAllowed

    for person in (staff.head, staff.vh_head, staff.officer):
        with pytest.raises(NotAllowed):
            agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=person, dry_run=True)
    administrator = UserFactory(roles=[r.ADMINISTRATOR], agencies=[VH])
    assert agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=administrator, dry_run=False).moved


def test_after_the_transfer_the_successor_works_on_the_case_and_the_old_agency_no_longer_sees_it(
        world, staff, api, client):
    agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=staff.admin, dry_run=False)
    received, refused = world["received"], world["refused"]

    successor = api.as_user(staff.vh_officer)
    detail = successor.get(f"/api/v1/cases/{received.pk}/")
    assert detail.status_code == 200, detail.content
    [transfer] = [e for e in detail.json()["timeline"] if e["kind"] == "transfer"]
    assert "Sở Thông tin và Truyền thông (Thái Bình)" in transfer["summary"]
    assert "Sở Văn hóa, Thể thao và Du lịch (Thái Bình)" in transfer["summary"]
    assert detail.json()["reference"] == received.reference
    moved = successor.post(f"/api/v1/cases/{received.pk}/transitions/",
                           {"action": "start_review", "version": detail.json()["version"]}, format="json")
    assert moved.status_code == 200, moved.content
    # The successor keeps the archive of its predecessor: the closed cases that stayed are readable.
    assert successor.get(f"/api/v1/cases/{refused.pk}/").status_code == 200

    # The old department's officer works for the Sở TTTT only: its successors' cases are not theirs to see.
    old = api.as_user(staff.officer)
    assert old.get(f"/api/v1/cases/{received.pk}/").status_code == 404
    assert old.get(f"/api/v1/cases/{refused.pk}/").status_code == 200
    old_list = {row["reference"] for row in old.get("/api/v1/cases/", {"page_size": 100}).json()["results"]}
    assert received.reference not in old_list and refused.reference in old_list

    # The case page shows the transfer in words.
    client.force_login(staff.vh_officer)
    page = client.get(reverse("licensing:case", args=[received.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sở Thông tin và Truyền thông (Thái Bình)" in text and "Sở Văn hóa, Thể thao và Du lịch (Thái Bình)" in text

    # The licence of a case approved before the reorganisation and issued after it is the successor's.
    licensing.result_issue(case_id=world["approved"].pk)
    world["approved"].refresh_from_db()
    assert world["approved"].state == State.ISSUED
    assert world["approved"].result_number.endswith("-SVHTTDL")


@pytest.fixture
def held(monkeypatch):
    """Makes one side of a race hold its locks a while, so the other really waits for it."""
    from cases import services as case_services
    from cases import transfer

    def hold(side: str, seconds: float = 0.5):
        if side == "transfer":
            original = transfer._plan

            def plan_slowly(*args, **kwargs):  # called once the agency and the cases are locked
                time.sleep(seconds)
                return original(*args, **kwargs)

            monkeypatch.setattr(transfer, "_plan", plan_slowly)
        else:
            original = case_services.case_lock

            def lock_slowly(case_id):
                case = original(case_id)
                time.sleep(seconds)
                return case

            monkeypatch.setattr(case_services, "case_lock", lock_slowly)

    return hold


def later(call, seconds: float = 0.2):
    def run():
        time.sleep(seconds)
        return call()
    return run


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["transfer", "transitions"])
def test_transitions_racing_the_transfer_are_never_lost(staff, held, first):
    """Two cases advance and two close while the transfer runs, each transition before the transfer (it waits for
    them and then reads them as they stand: the closed ones stay) or after it (they wait for it and then act on the
    moved cases): no transition and no transfer is lost either way."""
    cases = [licensing_case(staff, at(2, 17 + i), "printing_licence", ("start_review",)) for i in range(4)]
    stttt = agency(STTTT)
    actions = ["request_supplement", "request_supplement", "withdraw", "withdraw"]
    transfer = lambda: agency_transfer(agency=stttt, on=REORGANISED, actor=staff.admin, dry_run=False)  # noqa: E731
    # By an officer who works for both agencies, as the staff who moved with the cases do: allowed either way.
    transitions = [lambda case=case, action=action: services.case_transition(
        case_id=case.pk, actor=staff.moved_officer, action=action, note="Lý do ghi rõ.") for case, action in
        zip(cases, actions, strict=True)]
    held(first)
    if first == "transfer":
        results = run_together([transfer, *(later(call) for call in transitions)])
    else:
        results = run_together([later(transfer), *transitions])

    assert not [result for result in results if isinstance(result, BaseException)], results
    for case, action in zip(cases, actions, strict=True):
        case.refresh_from_db()
        assert case.state == {"request_supplement": State.SUPPLEMENT_REQUESTED, "withdraw": State.WITHDRAWN}[action]
        assert case.events.filter(kind=CaseEvent.Kind.TRANSITION, action=action).count() == 1
        transfers = list(case.events.filter(kind__in=[CaseEvent.Kind.TRANSFER, CaseEvent.Kind.TRANSITION])
                         .order_by("at", "id").values_list("kind", flat=True))[1:]  # after start_review
        if action == "withdraw" and first == "transitions":  # closed before the transfer read it: it stays
            assert (case.agency.code, transfers) == (STTTT, [CaseEvent.Kind.TRANSITION])
        else:  # open when the transfer read it: moved, in the order the two happened
            assert case.agency.code == VH
            assert transfers == ([CaseEvent.Kind.TRANSFER, CaseEvent.Kind.TRANSITION] if first == "transfer"
                                 else [CaseEvent.Kind.TRANSITION, CaseEvent.Kind.TRANSFER])
        assert case.version == 2 + len(transfers)  # created 1, start_review, then the racing action, the transfer
    assert results[0].moved == CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFER).count() == \
        (4 if first == "transfer" else 2)


def test_the_command_prints_the_plan_and_refuses_with_an_error(world, staff):
    out = io.StringIO()
    call_command("agency_transfer", "--from", STTTT, "--on", "2025-03-01", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "dry run" in text
    for name in TO_VH | TO_KH:
        assert world[name].reference in text
    for name in STAYING:
        assert world[name].reference not in text
    assert set(Case.objects.values_list("agency__code", flat=True)) == {STTTT}

    out = io.StringIO()
    call_command("agency_transfer", "--from", STTTT, "--on", "2025-03-01", "--dry-run", "--json", stdout=out)
    plan = json.loads(out.getvalue())
    assert {d["agency"]["code"]: len(d["cases"]) for d in plan["destinations"]} == {VH: len(TO_VH), KH: len(TO_KH)}

    CaseTypeAgency.objects.filter(case_type__code="bts_station", agency__code=KH).delete()
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("agency_transfer", "--from", STTTT, "--on", "2025-03-01", stdout=out)
    assert exit_status.value.code == 1 and "REFUSED" in out.getvalue()
    assert set(Case.objects.values_list("agency__code", flat=True)) == {STTTT}

    out = io.StringIO()
    call_command("agency_transfer", "--from", STTTT, "--on", "2025-03-01", "--map", f"bts_station={KH}",
                 "--by", staff.admin.username, stdout=out)
    assert f"{len(TO_VH) + len(TO_KH)} cases moved" in out.getvalue()
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFER, actor=staff.admin).count() == len(TO_VH | TO_KH)


def test_the_admin_action_shows_the_dry_run_then_transfers(world, staff, client):
    stttt = agency(STTTT)
    changelist = reverse("admin:agencies_agency_changelist")
    client.force_login(staff.admin)
    assert "transfer_open_cases" in client.get(changelist).content.decode()
    base = {"action": "transfer_open_cases", "_selected_action": [stttt.pk]}

    page = client.post(changelist, base)
    assert page.status_code == 200
    text = page.content.decode()
    assert all(world[name].reference in text for name in TO_VH | TO_KH)
    assert not any(world[name].reference in text for name in STAYING)
    assert 'value="2025-03-01"' in text  # the day after the agency ended
    assert set(Case.objects.values_list("agency__code", flat=True)) == {STTTT}

    # Running a date other than the one previewed only shows the list again.
    again = client.post(changelist, {**base, "transfer_step": "run", "on": "2025-03-02", "note": "",
                                     "previewed": "2025-03-01"})
    assert again.status_code == 200 and set(Case.objects.values_list("agency__code", flat=True)) == {STTTT}

    done = client.post(changelist, {**base, "transfer_step": "run", "on": "2025-03-01", "note": "QĐ 15/QĐ-UBND",
                                    "previewed": "2025-03-01"})
    assert done.status_code == 302
    assert Case.objects.filter(agency__code=VH).count() == len(TO_VH)
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFER, actor=staff.admin).count() == len(TO_VH | TO_KH)

    # Someone who is not an administrator has no such action.
    head = UserFactory(roles=[r.DEPARTMENT_HEAD], is_staff=True, is_superuser=False)
    head.user_permissions.add(*Permission.objects.filter(codename__in=["view_agency", "change_agency"]))
    client.force_login(head)
    listing = client.get(changelist)
    assert listing.status_code == 200 and "transfer_open_cases" not in listing.content.decode()


# --- A property: whatever the cases, the transfer partitions them -------------------------------------------------

STATES = {domain: sorted({*(t.target for t in table.values() if t.target), *(s for t in table.values()
                                                                            for s in t.sources)})
          for domain, table in WORKFLOWS.items()}
TYPES = ["printing_licence", "bulletin", "press_conference", "printing", "prepaid_sim", "bts_station"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(TYPES), st.integers(0, 20), st.sampled_from([STTTT, STTTT, VH])),
                min_size=0, max_size=12))
def test_moved_and_stayed_partition_the_cases(staff, rows):
    savepoint = transaction.savepoint()
    try:
        holders = {code: agency(code) for code in (STTTT, VH)}
        types = {t.code: t for t in CaseType.objects.filter(code__in=TYPES)}
        created = []
        for i, (type_code, state_index, holder) in enumerate(rows):
            case_type = types[type_code]
            states = STATES[case_type.domain]
            created.append(Case.objects.create(
                reference=f"P-{uuid.uuid4().hex[:10]}-{i}", case_type=case_type, agency=holders[holder],
                terms=case_type.terms_on(date(2025, 1, 6)), state=states[state_index % len(states)],
                subject_name="Hồ sơ thử", created_by=staff.officer, received_at=at(1, 6)))
        plan = agency_transfer(agency=holders[STTTT], on=REORGANISED, actor=None, dry_run=False)

        moved = {case.id for case in plan.cases}
        after = dict(Case.objects.filter(pk__in=[c.pk for c in created]).values_list("pk", "agency__code"))
        stayed = {pk for pk, code in after.items() if code in (STTTT,)} | \
            {c.pk for c in created if c.agency.code == VH}
        assert moved | stayed == {c.pk for c in created} and not moved & stayed
        assert moved == {c.pk for c in created if c.agency.code == STTTT and c.state not in TERMINAL}
        assert all(after[pk] in (VH, KH) for pk in moved)
        transfers = list(CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSFER, case__in=created)
                         .values_list("case_id", flat=True))
        assert sorted(transfers) == sorted(moved)  # one event per moved case, none for the others
        assert agency_transfer(agency=holders[STTTT], on=REORGANISED, actor=None, dry_run=False).moved == 0
    finally:
        transaction.savepoint_rollback(savepoint)


def test_a_membership_of_the_successor_silences_the_warning(world, staff):
    Membership.objects.create(user=staff.officer, agency=agency(VH))
    plan = agency_transfer(agency=agency(STTTT), on=REORGANISED, actor=staff.admin, dry_run=True)
    assert world["in_review"].reference not in {ref for w in plan.warnings for ref in w.cases}
