"""The rules of online dossiers as invariants, checked after every step of random action sequences over the real
services (Hypothesis' RuleBasedStateMachine): two organisations' representatives make, fill, submit, resubmit and
withdraw dossiers (with stale versions and retries among them, and attempts on the other organisation's); officers
receive, ask to complete, refuse to receive (with and without reasons, twice at times); received cases go through
a supplement asked on the officers' side and answered online.

After every step these hold:
  * a dossier has a case exactly when it was received, and a case comes from at most one dossier; nothing is
    counted (no case) for a dossier not received;
  * a dossier refused before receipt has its refusal slip reserved, exactly once, and its reasons; one asked to be
    completed has its reasons; a withdrawn or draft one has no answer recorded;
  * each representative sees exactly their own organisation's dossiers, never the other's;
  * a received dossier's files are its case's attachments (the counter's checks already passed);
  * a received case's clock is paused exactly while a supplement is awaited.

CI runs a fixed number of examples; `STATEFUL_EXAMPLES=100 STATEFUL_STEPS=60` runs longer on demand."""

import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from applicants import dossiers, slips
from applicants import submissions as services
from applicants.models import Submission
from cases import roles as r
from cases import services as case_services
from cases.errors import DomainError, InvalidTransition, NotFound, StaleVersion, ValidationFailed
from cases.models import Attachment, Case
from cases.workflow import State as CaseState
from worker.models import OutboxMessage

from . import support_licensing as sl
from .factories import UserFactory
from .support_portal_submit import representative_make

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "12"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "50"))
PROCEDURES = ["printing_licence", "print_registration", "bulletin", "press_conference"]
State = Submission.State
MOSTLY = st.sampled_from([True, True, True, False])  # mostly the path that goes on, at times the wrong one
SOMETIMES = st.sampled_from([False, False, False, True])
INDEX = st.integers(0, 7)
REACHED: set[str] = set()  # the dossiers' states and the supplement steps the runs reached
REASONS = st.sampled_from(["   ", "Thiếu bản sao giấy phép đăng ký kinh doanh.", "Thiếu bản sao giấy chứng nhận đăng ký doanh nghiệp.",
                           "Thủ tục không thuộc thẩm quyền của Sở.\u2028Đề nghị nộp tại Bộ."])


class OnlineDossiers(RuleBasedStateMachine):
    dossiers = Bundle("dossiers")

    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        n = OnlineDossiers.runs = getattr(OnlineDossiers, "runs", 0) + 1
        self.reps = [representative_make(name="Công ty TNHH In Hoàng Long", tax_code=f"10{n:04d}0001",
                                         email=f"lan{n}@inhoanglong.vn"),
                     representative_make(name="Trường Đại học Thái Bình", tax_code=f"10{n:04d}0002",
                                         email=f"vp{n}@dhtb.example.vn")]
        self.officer = UserFactory(roles=[r.LICENSING_OFFICER])
        self.head = UserFactory(roles=[r.DEPARTMENT_HEAD])
        self.received_files: dict[int, int] = {}  # submission id → files it had when received

    def teardown(self):
        transaction.savepoint_rollback(self.savepoint)

    def _expect(self, call, *allowed):
        """Run a service; a domain error is an answer (it must be one of `allowed`) and must leave nothing half
        done (the services' own transactions)."""
        try:
            with transaction.atomic():
                return call()
        except DomainError as exc:
            assert isinstance(exc, allowed or DomainError), exc
            return None

    # --- The applicants ------------------------------------------------------------------------------------

    @rule(target=dossiers, who=st.integers(0, 1), procedure=st.sampled_from(PROCEDURES), fill=MOSTLY)
    def draft(self, who, procedure, fill):
        rep = self.reps[who]
        submission, _ = services.submission_create(representative=rep, procedure=procedure)
        if fill:
            submission = services.submission_update(representative=rep, submission_uuid=submission.uuid,
                                                    fields=sl.dossier(procedure), version=submission.version)
            if sl.REQUIRED_FILE[procedure] is not None:
                kind, upload = sl.required_upload(procedure)
                services.file_add(representative=rep, submission_uuid=submission.uuid, upload=upload, kind=kind)
        return submission.pk

    @rule(pk=dossiers, stale=SOMETIMES, declared=MOSTLY, aim=MOSTLY, index=INDEX)
    def submit(self, pk, stale, declared, aim, index):
        submission = self._aimed(pk, aim, index, states=services.EDITABLE)  # mostly one still being written
        rep = self._owner(submission)
        before = submission.state
        result = self._expect(lambda: services.submission_submit(
            representative=rep, submission_uuid=submission.uuid,
            version=submission.version - 1 if stale else submission.version, declared=declared))
        if result is not None and before != State.SUBMITTED:
            assert declared and not stale and before in services.EDITABLE

    @rule(pk=dossiers, now=SOMETIMES)
    def withdraw(self, pk, now):
        if not now:
            return  # applicants seldom withdraw: the runs go on to the officers' answers
        submission = Submission.objects.get(pk=pk)
        self._expect(lambda: services.submission_withdraw(representative=self._owner(submission),
                                                          submission_uuid=submission.uuid,
                                                          version=submission.version),
                     InvalidTransition)

    @rule(pk=dossiers)
    def the_other_organisation_tries(self, pk):
        submission = Submission.objects.get(pk=pk)
        other = self.reps[1] if submission.organisation_id == self.reps[0].organisation_id else self.reps[0]
        before = (submission.state, submission.version)
        for call in (lambda: services.submission_withdraw(representative=other, submission_uuid=submission.uuid,
                                                          version=submission.version),
                     lambda: services.submission_update(representative=other, submission_uuid=submission.uuid,
                                                        fields={}, version=submission.version),
                     lambda: services.submission_submit(representative=other, submission_uuid=submission.uuid,
                                                        version=submission.version, declared=True)):
            self._expect(call, NotFound)
        submission.refresh_from_db()
        assert (submission.state, submission.version) == before

    @rule(pk=dossiers, aim=MOSTLY, index=INDEX)
    def supplement_online(self, pk, aim, index):
        awaited = list(self._mine().filter(case__state=CaseState.SUPPLEMENT_REQUESTED).order_by("pk"))
        submission = awaited[index % len(awaited)] if aim and awaited else Submission.objects.get(pk=pk)
        if not submission.case_id:
            return
        kind, upload = "other", sl.upload("other", "pdf", "so-do-mat-bang.pdf")
        self._expect(lambda: dossiers.supplement_submit(submission=submission, user=self._owner(submission).user,
                                                        files=[(kind, upload)], message="Kính gửi bổ sung."),
                     InvalidTransition)

    # --- The officers --------------------------------------------------------------------------------------

    def _aimed(self, pk, aim, index, states=(State.SUBMITTED,)):
        """The dossier acted on: with `aim`, the `index`-th of those in `states` if any (an officer opens one
        waiting in the queue, an applicant one still being written), else the one drawn, whatever its state. (An
        index, not the row's id: the ids depend on what else the database holds, the draws must not.)"""
        waiting = list(self._mine().filter(state__in=states).order_by("pk"))
        return waiting[index % len(waiting)] if aim and waiting else Submission.objects.get(pk=pk)

    @rule(pk=dossiers, twice=st.booleans(), aim=MOSTLY, index=INDEX)
    def receive(self, pk, twice, aim, index):
        submission = self._aimed(pk, aim, index)
        pk = submission.pk
        files = submission.files.count()
        waiting = submission.state == State.SUBMITTED
        result = self._expect(lambda: services.submission_receive(actor=self.officer, submission_uuid=submission.uuid,
                                                                  version=submission.version),
                              *self._office_answers(submission, InvalidTransition, StaleVersion))
        if result is not None and result[1]:
            assert waiting
            self.received_files[pk] = files
        if twice and result is not None:
            case, created = services.submission_receive(actor=self.officer, submission_uuid=submission.uuid)
            assert case.pk == result[0].pk and not created

    @rule(pk=dossiers, reasons=REASONS, refuse=st.booleans(), twice=st.booleans(), aim=MOSTLY, index=INDEX)
    def answer(self, pk, reasons, refuse, twice, aim, index):
        submission = self._aimed(pk, aim, index)
        service = services.submission_refuse if refuse else services.submission_request_completion
        blank = not reasons.strip()
        allowed = (ValidationFailed,) if blank else self._office_answers(submission, InvalidTransition, StaleVersion)
        for _attempt in range(2 if twice else 1):  # the same answer sent again: a retry
            answered = self._expect(lambda: service(actor=self.officer, submission_uuid=submission.uuid,
                                                    version=submission.version, reasons=reasons), *allowed)
            assert not (blank and answered), "an answer without reasons is refused"

    @rule(pk=dossiers, aim=MOSTLY, index=INDEX)
    def officers_ask_a_supplement(self, pk, aim, index):
        submission = self._aimed(pk, aim, index, states=(State.ACCEPTED,))
        if not submission.case_id:
            return
        case = Case.objects.get(pk=submission.case_id)
        if case.assignee_id is None:
            case_services.case_assign(case_id=case.pk, actor=self.head, assignee=self.officer)
        for action in ("start_review", "request_supplement"):
            self._expect(lambda action=action: case_services.case_transition(
                case_id=case.pk, actor=self.officer, action=action, note="Bổ sung sơ đồ mặt bằng nơi đặt máy in."))

    # The same actions aimed at a dossier where they take effect, chosen only when there is one (preconditions):
    # the runs then reach every state instead of spending their steps on refusals.

    def _some(self, **lookup) -> bool:
        return self._mine().filter(**lookup).exists()

    @precondition(lambda self: self._some(state__in=services.EDITABLE, submitted_at__isnull=True)
                  or self._some(state=State.COMPLETION_REQUESTED))
    @rule(pk=dossiers, index=INDEX)
    def submit_one_being_written(self, pk, index):
        self.submit(pk, False, True, True, index)

    @precondition(lambda self: self._some(state=State.SUBMITTED))
    @rule(pk=dossiers, twice=st.booleans(), index=INDEX)
    def receive_one_waiting(self, pk, twice, index):
        self.receive(pk, twice, True, index)

    @precondition(lambda self: self._some(state=State.SUBMITTED))
    @rule(pk=dossiers, reasons=REASONS, refuse=st.booleans(), twice=st.booleans(), index=INDEX)
    def answer_one_waiting(self, pk, reasons, refuse, twice, index):
        self.answer(pk, reasons, refuse, twice, True, index)

    @precondition(lambda self: self._some(state=State.ACCEPTED))
    @rule(pk=dossiers, index=INDEX)
    def ask_a_supplement_of_one_received(self, pk, index):
        self.officers_ask_a_supplement(pk, True, index)

    @precondition(lambda self: self._some(case__state=CaseState.SUPPLEMENT_REQUESTED))
    @rule(pk=dossiers, index=INDEX)
    def answer_one_supplement_request(self, pk, index):
        self.supplement_online(pk, True, index)

    def _office_answers(self, submission, *errors):
        """The errors an officer's answer may meet: a dossier the office does not see (a draft never submitted)
        is not found, nothing else is; one it sees may be in the wrong state, read stale, or lack reasons."""
        if not services.office_visible(self.officer).filter(pk=submission.pk).exists():
            assert submission.submitted_at is None, "an officer of the agency sees every dossier sent to it"
            return (NotFound,)
        return errors

    # --- Invariants ----------------------------------------------------------------------------------------

    def _owner(self, submission):
        return next(rep for rep in self.reps if rep.organisation_id == submission.organisation_id)

    def _mine(self):
        return Submission.objects.filter(organisation__in=[rep.organisation_id for rep in self.reps])

    @invariant()
    def a_case_exactly_for_a_received_dossier(self):
        REACHED.update(self._mine().values_list("state", flat=True))
        if Case.objects.filter(submission__in=self._mine(), state=CaseState.SUPPLEMENT_REQUESTED).exists():
            REACHED.add("supplement_requested")
        if self._mine().filter(case__events__action="receive_supplement").exists():
            REACHED.add("supplement_answered")
        for submission in self._mine():
            assert (submission.case_id is not None) == (submission.state == State.ACCEPTED), submission.state
        cases = list(self._mine().exclude(case=None).values_list("case_id", flat=True))
        assert len(cases) == len(set(cases))
        assert Case.objects.filter(submission__in=self._mine()).count() == len(cases)

    @invariant()
    def answers_are_recorded_and_the_refusal_slip_reserved_once(self):
        for submission in self._mine():
            slips_queued = OutboxMessage.objects.filter(task_name=slips.TASK,
                                                        kwargs__submission_id=submission.pk).count()
            if submission.state == State.NOT_RECEIVED:
                assert submission.refusal_document_id is not None and slips_queued == 1
                assert submission.reasons.strip() and submission.handled_by_id == self.officer.pk
            else:
                assert submission.refusal_document_id is None and slips_queued == 0
            if submission.state == State.COMPLETION_REQUESTED:
                assert submission.reasons.strip()
            if submission.state == State.DRAFT:
                assert submission.handled_by_id is None and submission.submitted_at is None

    @invariant()
    def each_representative_sees_only_their_own(self):
        for rep in self.reps:
            seen = set(dossiers.dossiers_of(rep.user).values_list("organisation_id", flat=True))
            assert seen <= {rep.organisation_id}
            assert dossiers.dossiers_of(rep.user).count() == Submission.objects.filter(
                organisation=rep.organisation).count()

    @invariant()
    def received_files_are_the_cases_and_the_clock_pauses_only_for_a_supplement(self):
        for submission in self._mine().exclude(case=None).select_related("case"):
            case = submission.case
            sent = sorted(submission.files.values_list("sha256", "kind"))
            assert len(sent) == self.received_files[submission.pk]  # a received dossier is no longer edited
            kept = set(Attachment.objects.filter(case=case).values_list("sha256", "kind"))
            assert set(sent) <= kept, (sent, kept)
            assert (case.paused_at is not None) == (case.state == CaseState.SUPPLEMENT_REQUESTED), case.state


def test_online_dossiers_keep_their_rules_on_every_path(db):
    REACHED.clear()
    run_state_machine_as_test(OnlineDossiers, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
    # The runs went where the rules matter (else the invariants were checked on nothing).
    assert {*State.values, "supplement_requested", "supplement_answered"} <= REACHED, sorted(REACHED)
