"""A request to supplement pauses the deadline clock; receiving the supplement resumes it.

Rules (DESIGN.md and cases.deadlines): request_supplement pauses; receive_supplement recomputes the due
date from what remains. Days used = counting days after the clock's start day up to and including the
pause day; counting restarts the day after resumption; hour limits keep the remaining seconds. A paused
or decided case is never overdue nor due soon. Every due-date change is a "due_date" timeline event.
Expected dates are worked out by hand from the real calendar (comment next to each).
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from cases import services
from cases.deadlines import WorkCalendar, due_at_remaining
from cases.models import CalendarDay, Case, CaseEvent, LimitUnit
from cases.selectors import due_soon_q, overdue_q
from cases.workflow import State

from .factories import case_make

pytestmark = pytest.mark.django_db

VN = ZoneInfo("Asia/Ho_Chi_Minh")
REASONS = "Đề nghị bổ sung bản sao giấy chứng nhận đăng ký doanh nghiệp."


def vn(y, m, d, h=0, mi=0, s=0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=VN)


def close(y, m, d) -> datetime:
    return vn(y, m, d, 17)


def receive(officer, code: str, when: datetime) -> Case:
    with time_machine.travel(when, tick=False):
        return case_make(actor=officer, type_code=code, received_at=when)


def act(case: Case, actor, action: str, when: datetime, note: str = "") -> Case:
    """Take `action` at `when` through the service, as the user would."""
    with time_machine.travel(when, tick=False):
        services.case_transition(case_id=case.pk, actor=actor, action=action, note=note)
    case.refresh_from_db()
    return case


def pause(case, actor, when):
    return act(case, actor, "request_supplement", when, note=REASONS)


def resume(case, actor, when):
    return act(case, actor, "receive_supplement", when)


def due_changes(case) -> list[tuple[datetime, datetime]]:
    """The due-date events on the timeline, as (before, after) datetimes, oldest first."""
    return [
        (datetime.fromisoformat(e.before["due_at"]), datetime.fromisoformat(e.after["due_at"]))
        for e in case.events.filter(kind=CaseEvent.Kind.DUE_DATE).order_by("at", "id")
    ]


def overdue_ids(now):
    return set(Case.objects.filter(overdue_q(now)).values_list("pk", flat=True))


def due_soon_ids(now, hours=None):
    return set(Case.objects.filter(due_soon_q(now, hours)).values_list("pk", flat=True))


# --- Working days, across Tết 2020 ------------------------------------------------------------------


def test_pause_before_tet_resume_after_tet(officer):
    case = receive(officer, "printing_licence", vn(2020, 1, 13, 9))
    # Mon 13/01/2020: 14–17 (4), 20–22 (7) | Tết 23–29 | 30, 31 (9), 03–07/02 (14), Mon 10/02 (15)
    assert case.due_at == close(2020, 2, 10)

    case = pause(case, officer, vn(2020, 1, 22, 10))
    # used: 14, 15, 16, 17, 20, 21, 22/01 = 7 working days
    assert case.state == State.SUPPLEMENT_REQUESTED
    assert case.paused_at == vn(2020, 1, 22, 10)
    assert case.clock_used == 7
    assert case.due_at == close(2020, 2, 10)  # unchanged while paused
    assert due_changes(case) == []

    case = resume(case, officer, vn(2020, 1, 30, 9))
    # 8 left, counting from Fri 31/01: 31 (1), 03–07/02 (6), 10 (7), Tue 11/02 (8)
    assert case.state == State.IN_REVIEW
    assert case.paused_at is None
    assert case.clock_started_at == vn(2020, 1, 30, 9)
    assert case.due_at == close(2020, 2, 11)
    assert due_changes(case) == [(close(2020, 2, 10), close(2020, 2, 11))]


def test_resume_on_a_tet_day_counts_from_the_first_working_day_after_tet(officer):
    case = receive(officer, "printing_licence", vn(2020, 1, 13, 9))
    case = pause(case, officer, vn(2020, 1, 22, 10))  # 7 used, as above
    case = resume(case, officer, vn(2020, 1, 27, 14))
    # resumed Mon 27/01 (Tết); 28, 29 off; 8 left: 30 (1), 31 (2), 03–07/02 (7), Mon 10/02 (8)
    assert case.due_at == close(2020, 2, 10)
    # the recomputed date equals the old one: nothing to write on the timeline
    assert due_changes(case) == []


def test_several_pauses_add_up(officer):
    case = receive(officer, "printing_licence", vn(2019, 12, 2, 9))
    # Mon 02/12/2019: 03–06 (4), 09–13 (9), 16–20 (14), Mon 23/12 (15)
    assert case.due_at == close(2019, 12, 23)

    case = pause(case, officer, vn(2019, 12, 4, 14))
    assert case.clock_used == 2  # Tue 03, Wed 04
    case = resume(case, officer, vn(2019, 12, 9, 10))
    # 13 left from Tue 10/12: 10–13 (4), 16–20 (9), 23, 24, 25, Thu 26/12 (13)
    assert case.due_at == close(2019, 12, 26)

    case = pause(case, officer, vn(2019, 12, 13, 16))
    assert case.clock_used == 6  # 2 + (10, 11, 12, 13/12)
    case = resume(case, officer, vn(2019, 12, 19, 11))
    # 9 left from Fri 20/12: 20 (1), 23–27 (6), 30, 31 (8), 01/01 off, Thu 02/01/2020 (9)
    assert case.due_at == close(2020, 1, 2)

    case = pause(case, officer, vn(2019, 12, 19, 15))
    assert case.clock_used == 6  # paused on the resumption day: that day was not counted
    case = resume(case, officer, vn(2019, 12, 23, 9))
    # 9 left from Tue 24/12: 24–27 (4), 30, 31 (6), 01/01 off, 02, 03 (8), Mon 06/01/2020 (9)
    assert case.due_at == close(2020, 1, 6)

    assert due_changes(case) == [
        (close(2019, 12, 23), close(2019, 12, 26)),
        (close(2019, 12, 26), close(2020, 1, 2)),
        (close(2020, 1, 2), close(2020, 1, 6)),
    ]
    actions = list(case.events.filter(kind=CaseEvent.Kind.TRANSITION).values_list("action", flat=True))
    assert actions == ["request_supplement", "receive_supplement"] * 3


def test_pause_on_the_receipt_day_uses_nothing_and_the_make_up_saturday_counts(officer):
    case = receive(officer, "print_registration", vn(2019, 5, 2, 9))
    assert case.due_at == close(2019, 5, 6)  # Fri 03, make-up Sat 04, Mon 06
    case = pause(case, officer, vn(2019, 5, 2, 15))
    assert case.clock_used == 0
    case = resume(case, officer, vn(2019, 5, 3, 9))
    # 3 left from Sat 04/05/2019: make-up Sat 04 (1), Mon 06 (2), Tue 07 (3)
    assert case.due_at == close(2019, 5, 7)
    assert due_changes(case) == [(close(2019, 5, 6), close(2019, 5, 7))]


def test_extra_day_off_after_resumption_pushes_the_recomputed_date(officer):
    case = receive(officer, "print_registration", vn(2019, 12, 2, 9))  # due Thu 05/12
    case = pause(case, officer, vn(2019, 12, 3, 10))  # used: Tue 03
    CalendarDay.objects.create(date=date(2019, 12, 10), kind=CalendarDay.Kind.DAY_OFF, note="Nghỉ đột xuất")
    case = resume(case, officer, vn(2019, 12, 9, 9))
    # 2 left from Tue 10/12, which is now off: Wed 11 (1), Thu 12 (2)  (without the row: Wed 11/12)
    assert case.due_at == close(2019, 12, 12)


# --- Resuming after the original due date -----------------------------------------------------------


def test_resume_after_the_original_due_date(officer):
    case = receive(officer, "print_registration", vn(2019, 12, 2, 9))
    assert case.due_at == close(2019, 12, 5)  # Tue 03, Wed 04, Thu 05
    case = pause(case, officer, vn(2019, 12, 3, 10))
    assert case.clock_used == 1  # Tue 03

    # Paused, past the original due date: not overdue, not flagged by the sweep.
    for moment in (vn(2019, 12, 6, 9), vn(2019, 12, 16, 8)):
        assert case.pk not in overdue_ids(moment)
        with time_machine.travel(moment, tick=False):
            assert Case.objects.get(pk=case.pk).is_overdue is False
            assert services.case_overdue_flag(case_id=case.pk) is False
    assert not case.events.filter(kind=CaseEvent.Kind.OVERDUE).exists()

    case = resume(case, officer, vn(2019, 12, 16, 9))
    # 2 left from Tue 17/12: Tue 17 (1), Wed 18 (2)
    assert case.due_at == close(2019, 12, 18)
    assert due_changes(case) == [(close(2019, 12, 5), close(2019, 12, 18))]
    assert case.pk not in overdue_ids(vn(2019, 12, 16, 9, 1))
    assert case.pk not in overdue_ids(vn(2019, 12, 18, 16, 59))
    assert case.pk in overdue_ids(vn(2019, 12, 18, 17, 1))
    with time_machine.travel(vn(2019, 12, 18, 17, 1), tick=False):
        assert services.case_overdue_flag(case_id=case.pk) is True
    assert case.events.filter(kind=CaseEvent.Kind.OVERDUE).count() == 1


# --- Calendar days -------------------------------------------------------------------------------


def test_calendar_day_limit_pause_and_resume(officer):
    case = receive(officer, "bulletin", vn(2019, 11, 4, 9))
    assert case.due_at == close(2019, 12, 4)  # Mon 04/11 + 30 = Wed 04/12/2019
    case = pause(case, officer, vn(2019, 11, 15, 10))
    assert case.clock_used == 11  # 05/11 … 15/11
    case = resume(case, officer, vn(2019, 11, 25, 9))
    # 19 left: Mon 25/11 + 19 = Sat 14/12/2019 → Mon 16/12/2019
    assert case.due_at == close(2019, 12, 16)
    assert due_changes(case) == [(close(2019, 12, 4), close(2019, 12, 16))]


# --- Hours keep their seconds ---------------------------------------------------------------------


def test_hour_limit_pause_keeps_remaining_seconds(officer):
    case = receive(officer, "press_conference", vn(2019, 12, 31, 20))
    assert case.due_at == vn(2020, 1, 1, 8)  # + 12 h, New Year's Day ignored

    case = pause(case, officer, vn(2019, 12, 31, 23, 29, 30))
    assert case.clock_used == 12570  # 3 h 29 min 30 s
    # Past the original 08:00 the paused case is not overdue.
    assert case.pk not in overdue_ids(vn(2020, 1, 1, 9))

    case = resume(case, officer, vn(2020, 1, 2, 9))
    # 43 200 − 12 570 = 30 630 s = 8 h 30 min 30 s → 17:30:30, not snapped to 17:00
    assert case.due_at == vn(2020, 1, 2, 17, 30, 30)

    case = pause(case, officer, vn(2020, 1, 2, 10))
    assert case.clock_used == 12570 + 3600
    case = resume(case, officer, vn(2020, 1, 3, 8))
    # 43 200 − 16 170 = 27 030 s = 7 h 30 min 30 s → 03/01/2020 15:30:30
    assert case.due_at == vn(2020, 1, 3, 15, 30, 30)
    assert due_changes(case) == [
        (vn(2020, 1, 1, 8), vn(2020, 1, 2, 17, 30, 30)),
        (vn(2020, 1, 2, 17, 30, 30), vn(2020, 1, 3, 15, 30, 30)),
    ]


def test_due_at_remaining_direct():
    calendar = WorkCalendar(overrides={})
    # 15 working days, 7 used, restarted Thu 30/01/2020: 31/01 (1), 03–07/02 (6), 10 (7), Tue 11/02 (8)
    assert due_at_remaining(start=vn(2020, 1, 30, 9), amount=15, unit=LimitUnit.WORKING_DAYS, used=7,
                            calendar=calendar) == close(2020, 2, 11)
    # 30 calendar days, 11 used, restarted Mon 25/11/2019: + 19 = Sat 14/12 → Mon 16/12/2019
    assert due_at_remaining(start=vn(2019, 11, 25, 9), amount=30, unit=LimitUnit.CALENDAR_DAYS, used=11,
                            calendar=calendar) == close(2019, 12, 16)
    # 12 hours, 12 570 s used, restarted 02/01/2020 09:00 → 17:30:30
    assert due_at_remaining(start=vn(2020, 1, 2, 9), amount=12, unit=LimitUnit.HOURS, used=12570) == \
        vn(2020, 1, 2, 17, 30, 30)


# --- Overdue and due-soon queries ------------------------------------------------------------------


def test_overdue_and_due_soon_exclude_paused_and_decided_cases(officer, head):
    # print_registration received Mon 02/12/2019 → due Thu 05/12 17:00 (Tue 03, Wed 04, Thu 05)
    late_running = receive(officer, "print_registration", vn(2019, 12, 2, 9))
    act(late_running, officer, "start_review", vn(2019, 12, 2, 10))
    late_proposed = receive(officer, "print_registration", vn(2019, 12, 2, 9))
    act(late_proposed, officer, "start_review", vn(2019, 12, 2, 10))
    act(late_proposed, officer, "propose_grant", vn(2019, 12, 4, 10))
    late_paused = receive(officer, "print_registration", vn(2019, 12, 2, 9))
    pause(late_paused, officer, vn(2019, 12, 3, 10))
    late_approved = receive(officer, "print_registration", vn(2019, 12, 2, 9))
    for action, by, when in (("start_review", officer, vn(2019, 12, 2, 10)),
                             ("propose_grant", officer, vn(2019, 12, 3, 10)),
                             ("approve", head, vn(2019, 12, 4, 10))):
        act(late_approved, by, action, when)
    late_refused = receive(officer, "print_registration", vn(2019, 12, 2, 9))
    for action, by, when in (("start_review", officer, vn(2019, 12, 2, 10)),
                             ("propose_refusal", officer, vn(2019, 12, 3, 10)),
                             ("refuse", head, vn(2019, 12, 4, 10))):
        act(late_refused, by, action, when, note="Cơ sở không đủ điều kiện về mặt bằng.")
    # received Tue 03/12/2019 → due Fri 06/12 17:00 (Wed 04, Thu 05, Fri 06)
    soon_running = receive(officer, "print_registration", vn(2019, 12, 3, 9))
    soon_paused = receive(officer, "print_registration", vn(2019, 12, 3, 9))
    pause(soon_paused, officer, vn(2019, 12, 4, 9))
    soon_approved = receive(officer, "print_registration", vn(2019, 12, 3, 9))
    for action, by, when in (("start_review", officer, vn(2019, 12, 3, 10)),
                             ("propose_grant", officer, vn(2019, 12, 4, 10)),
                             ("approve", head, vn(2019, 12, 5, 10))):
        act(soon_approved, by, action, when)
    # printing_licence received Mon 02/12/2019 → due Mon 23/12 17:00 (15 working days)
    far = receive(officer, "printing_licence", vn(2019, 12, 2, 9))

    for case in (late_running, late_proposed, late_paused, late_approved, late_refused):
        case.refresh_from_db()
        assert case.due_at == close(2019, 12, 5)
    for case in (soon_running, soon_paused, soon_approved):
        case.refresh_from_db()
        assert case.due_at == close(2019, 12, 6)
    assert (late_paused.state, late_approved.state, late_refused.state, soon_approved.state) == (
        State.SUPPLEMENT_REQUESTED, State.APPROVED, State.REFUSED, State.APPROVED)

    now = vn(2019, 12, 6, 9)  # Friday morning; due-soon horizon 48 h → Sun 08/12 09:00
    assert overdue_ids(now) == {late_running.pk, late_proposed.pk}
    assert due_soon_ids(now) == {soon_running.pk}
    # a wider horizon (until Thu 26/12 09:00) reaches the printing licence due 23/12
    assert due_soon_ids(now, hours=20 * 24) == {soon_running.pk, far.pk}
    # the defaults read the (frozen) clock
    with time_machine.travel(now, tick=False):
        assert set(Case.objects.filter(overdue_q()).values_list("pk", flat=True)) == {late_running.pk,
                                                                                        late_proposed.pk}
        assert set(Case.objects.filter(due_soon_q()).values_list("pk", flat=True)) == {soon_running.pk}
        flagged = {c.pk for c in Case.objects.all() if services.case_overdue_flag(case_id=c.pk)}
    assert flagged == {late_running.pk, late_proposed.pk}

    # Thursday 05/12 at 16:00: the 05/12 cases are due soon, not yet overdue; paused/decided are neither
    thursday = vn(2019, 12, 5, 16)
    assert overdue_ids(thursday) == set()
    assert due_soon_ids(thursday) == {late_running.pk, late_proposed.pk, soon_running.pk}


def test_resumed_case_comes_back_into_the_queries(officer):
    case = receive(officer, "print_registration", vn(2019, 12, 3, 9))  # due Fri 06/12 17:00
    pause(case, officer, vn(2019, 12, 4, 9))  # used: Wed 04
    assert case.pk not in due_soon_ids(vn(2019, 12, 9, 8))
    case = resume(case, officer, vn(2019, 12, 9, 8))
    # 2 left from Tue 10/12: Tue 10 (1), Wed 11 (2)
    assert case.due_at == close(2019, 12, 11)
    assert case.pk in due_soon_ids(vn(2019, 12, 9, 18))  # 47 h before Wed 17:00
    assert case.pk not in due_soon_ids(vn(2019, 12, 9, 16))  # 49 h before
    # Due at 17:00, read to the minute: still on time during the due minute, late from 17:01.
    assert case.pk not in overdue_ids(vn(2019, 12, 11, 17, 0, 59))
    assert case.pk in overdue_ids(vn(2019, 12, 11, 17, 1))


# --- Paused on the last day, or already late ---------------------------------------------------------


def test_paused_on_the_last_day_before_close_is_due_at_close_of_the_resumption_day(officer):
    case = receive(officer, "print_registration", vn(2019, 12, 2, 9))  # due Thu 05/12 17:00
    case = pause(case, officer, vn(2019, 12, 5, 10))
    assert case.clock_used == 3  # Tue 03, Wed 04, Thu 05: no whole day left
    case = resume(case, officer, vn(2019, 12, 9, 9))
    # nothing left to count: due at office close of the resumption day, Mon 09/12/2019
    assert case.due_at == close(2019, 12, 9)
    assert case.pk not in overdue_ids(vn(2019, 12, 9, 9, 1))


def test_case_already_late_when_paused_stays_late_after_resumption(officer):
    case = receive(officer, "print_registration", vn(2019, 12, 2, 9))  # due Thu 05/12 17:00
    with time_machine.travel(vn(2019, 12, 9, 9), tick=False):
        assert services.case_overdue_flag(case_id=case.pk) is True
    case = pause(case, officer, vn(2019, 12, 9, 10))
    assert case.clock_used == 5  # 03, 04, 05, 06, 09/12: more than the 3 allowed
    assert case.pk not in overdue_ids(vn(2019, 12, 9, 11))  # paused: not listed meanwhile

    case = resume(case, officer, vn(2019, 12, 10, 9))
    # no time was left when paused: the due date stays Thu 05/12 17:00 and the case is still late
    assert case.due_at == close(2019, 12, 5)
    assert case.overdue_flagged_at is not None
    assert case.pk in overdue_ids(vn(2019, 12, 10, 9, 1))
    assert due_changes(case) == []

    # the apology letter is what sets a new appointment date
    with time_machine.travel(vn(2019, 12, 10, 10), tick=False):
        services.case_transition(case_id=case.pk, actor=officer, action="apologise_late",
                                 note="Xin lỗi vì chậm trả kết quả.", new_due_at=close(2019, 12, 13))
    case.refresh_from_db()
    assert case.due_at == close(2019, 12, 13)
    assert case.overdue_flagged_at is None
    assert case.pk not in overdue_ids(vn(2019, 12, 10, 11))
    assert due_changes(case) == [(close(2019, 12, 5), close(2019, 12, 13))]


def test_hour_limit_already_late_when_paused_stays_late(officer):
    case = receive(officer, "press_conference", vn(2019, 12, 31, 20))  # due 01/01/2020 08:00
    case = pause(case, officer, vn(2020, 1, 1, 9))  # an hour late
    assert case.clock_used == 13 * 3600
    case = resume(case, officer, vn(2020, 1, 2, 9))
    assert case.due_at == vn(2020, 1, 1, 8)
    assert case.pk in overdue_ids(vn(2020, 1, 2, 9, 1))
