"""The overdue sweep flags late running cases once; the state and the timeline cannot be written around the engine."""

import uuid
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cases import services
from cases.models import Case, CaseEvent, ProtectedStateError

from .factories import case_make
from .support_concurrency import worker_successes, worker_wait_successes

# --- The overdue sweep, run by the real worker --------------------------------------------------------


def _overdue_events(case: Case) -> int:
    return CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.OVERDUE).count()


def _sweep(worker) -> int:
    """Have the worker run the overdue sweep, wait for it and for every flag it fanned out; return its count."""
    from worker.celery import app

    flags_before = len(worker_successes(worker, "cases.case_overdue_flag"))
    task_id = str(uuid.uuid4())
    app.send_task("cases.overdue_sweep", task_id=task_id)
    [returned] = worker_wait_successes(worker, "cases.overdue_sweep", 1, task_id=task_id)
    worker_wait_successes(worker, "cases.case_overdue_flag", flags_before + int(returned))
    return int(returned)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("outbox_sends_held")  # the intakes are not what this test is about
def test_overdue_sweep_flags_exactly_the_late_running_cases_once(celery_worker, officer, head, lead):
    long_ago = timezone.now() - timedelta(days=60)  # 15 working days ran out weeks ago

    def late(*path, **extra):
        return case_make(actor=officer, head=head, received_at=long_ago, path=path, **extra)

    running = {
        "received": late(),
        "in_review": late("start_review"),
        "proposed": late("start_review", "propose_grant"),
    }
    not_running = {
        "supplement_requested": late("start_review", "request_supplement"),  # clock paused
        "approved": late("start_review", "propose_grant", "approve"),
        "refused": late("start_review", "propose_refusal", "refuse"),
        "withdrawn": late("withdraw"),
    }
    for state, case in {**running, **not_running}.items():
        assert case.state == state and case.due_at < timezone.now()
    on_time = case_make(actor=officer, received_at=timezone.now() - timedelta(days=1))
    inspection = case_make(actor=lead, type_code="printing", received_at=long_ago)  # no time limit
    flagged_earlier = late("start_review")
    assert services.case_overdue_flag(case_id=flagged_earlier.pk)
    flagged_earlier.refresh_from_db()

    assert _sweep(celery_worker) == len(running)

    for case in running.values():
        case.refresh_from_db()
        assert case.overdue_flagged_at is not None, case.state
        assert _overdue_events(case) == 1, case.state
    for case in [*not_running.values(), on_time, inspection]:
        case.refresh_from_db()
        assert case.overdue_flagged_at is None, case.state
        assert _overdue_events(case) == 0, case.state
    assert Case.objects.get(pk=flagged_earlier.pk).overdue_flagged_at == flagged_earlier.overdue_flagged_at
    assert _overdue_events(flagged_earlier) == 1

    # The next sweep (beat runs it every 15 minutes) finds nothing new and records nothing.
    events_before = CaseEvent.objects.filter(kind=CaseEvent.Kind.OVERDUE).count()
    assert _sweep(celery_worker) == 0
    assert CaseEvent.objects.filter(kind=CaseEvent.Kind.OVERDUE).count() == events_before == len(running) + 1


# --- Case.state changes only through a transition ----------------------------------------------------


@pytest.mark.django_db
def test_case_state_cannot_be_assigned(officer):
    case = case_make(actor=officer)

    with pytest.raises(ProtectedStateError):
        case.state = "issued"
    case.save()

    assert case.state == "received"
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.state == "received"
    with pytest.raises(ProtectedStateError):
        fresh.state = "approved"


@pytest.mark.django_db
@pytest.mark.parametrize("load", [lambda qs: qs.only("id", "summary"), lambda qs: qs.defer("state")],
                         ids=["only", "defer"])
def test_case_state_cannot_be_assigned_on_a_case_loaded_without_it(officer, load):
    case = case_make(actor=officer)
    partial = load(Case.objects).get(pk=case.pk)

    with pytest.raises(ProtectedStateError):
        partial.state = "issued"
    partial.save()

    assert Case.objects.get(pk=case.pk).state == "received"
    assert partial.state == "received"  # reading the deferred state still works


@pytest.mark.django_db
def test_bulk_writes_of_case_state_are_refused(officer):
    case = case_make(actor=officer)

    with pytest.raises(ProtectedStateError):
        Case.objects.filter(pk=case.pk).update(state="issued")
    with pytest.raises(ProtectedStateError):
        officer.created_cases.update(state="issued")  # a related manager is guarded as well
    with pytest.raises(ProtectedStateError):
        Case.objects.bulk_update([case], ["state"])

    assert Case.objects.get(pk=case.pk).state == "received"
    # Other fields can still be updated in bulk, and a transition still moves the state.
    assert Case.objects.filter(pk=case.pk).update(summary="Cấp phép in bao bì") == 1
    services.case_transition(case_id=case.pk, actor=officer, action="start_review")
    assert Case.objects.get(pk=case.pk).state == "in_review"


# --- The timeline is append-only ---------------------------------------------------------------------


@pytest.fixture
def event(db, officer):
    case = case_make(actor=officer, path=("start_review",))
    return case.events.get(kind=CaseEvent.Kind.TRANSITION, action="start_review")


@pytest.mark.django_db
def test_timeline_events_cannot_be_edited_or_deleted_through_the_orm(event):
    # The case's whole timeline (receipt, its dossier's file and check, the transition), as stored before.
    timeline = list(CaseEvent.objects.filter(case_id=event.case_id).order_by("id").values_list("id", "kind", "note"))
    assert len(timeline) >= 2
    event.note = "Sửa lại cho đẹp"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        CaseEvent.objects.filter(pk=event.pk).update(note="Sửa lại")
    with pytest.raises(PermissionError):
        CaseEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError):
        event.case.events.update(note="Sửa lại")
    with pytest.raises(PermissionError):
        event.case.events.all().delete()

    stored = CaseEvent.objects.get(pk=event.pk)
    assert (stored.note, stored.action, stored.to_state) == ("", "start_review", "in_review")
    assert list(CaseEvent.objects.filter(case_id=event.case_id).order_by("id")
                .values_list("id", "kind", "note")) == timeline


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE cases_caseevent SET note = 'Sửa lại' WHERE id = %s",
    "DELETE FROM cases_caseevent WHERE id = %s",
])
def test_the_database_refuses_raw_sql_edits_of_the_timeline(event, statement):
    assert connection.vendor == "postgresql"

    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])

    stored = CaseEvent.objects.get(pk=event.pk)
    assert (stored.note, stored.action) == ("", "start_review")


@pytest.mark.django_db
def test_the_database_refuses_what_bypasses_the_orm_guard(event):
    """The plain base manager skips the append-only queryset; the trigger still refuses."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CaseEvent._base_manager.filter(pk=event.pk).update(note="Sửa lại")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CaseEvent._base_manager.filter(pk=event.pk)._raw_delete(connection.alias)
    assert CaseEvent.objects.get(pk=event.pk).note == ""


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_state_change_without_a_version_bump(officer):
    """The ORM bypasses the descriptor can't stop: a fresh instance saved over a stored case, the base manager."""
    from django.db import DatabaseError

    case = case_make(actor=officer)
    impostor = Case.objects.get(pk=case.pk)
    impostor.__dict__["state"] = "issued"  # as Case(pk=..., state=...) would carry it
    with pytest.raises(DatabaseError, match="workflow transition"):
        impostor.save()
    with pytest.raises(DatabaseError, match="workflow transition"):
        Case._base_manager.filter(pk=case.pk).update(state="issued")
    case.refresh_from_db()
    assert (case.state, case.version) == ("received", 1)
