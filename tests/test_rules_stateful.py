"""The rules of the "Trust" issue as invariants, checked after every step of random action sequences over the real
services (Hypothesis' RuleBasedStateMachine): receipts of the six procedures, supplements, proposals, decisions of
either kind (with or against the proposal), withdrawals, apologies, results whose document fails to be written and
their retries, revocations, text with control characters, and clock jumps across quarter ends, Tết and weekends.

After every step, once the queued work has run (as the workers would run it), these hold:
  * the issued outcome is the decided one: a permit exists exactly for the granted cases that were issued, a
    refusal letter for each refused case, nothing for the others;
  * every I.5 figure ("results") equals the permits in the register issued in that quarter, per procedure;
  * the figures of a quarter that has ended never change (compared with what they were when first seen ended);
  * the kept figures equal a rebuild from the cases (figures_check finds no mismatch and no drift);
  * document numbers are gap-free per series and year;
  * every open case has an action some role can take;
  * at most one licence is in force per print facility and procedure (a re-issue replaces the earlier one, which
    is then never revoked and says "replaced" on its public record).

CI runs a fixed number of examples; `STATEFUL_EXAMPLES=200 STATEFUL_STEPS=60 pytest tests/test_rules_stateful.py`
runs longer on demand.
"""

import os
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
import time_machine
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

from cases import roles as r
from cases import services as case_services
from cases.errors import Conflict, ValidationFailed
from cases.models import Case
from cases.workflow import TERMINAL, WORKFLOWS, State, transitions_available
from licensing import services as licensing_services
from licensing import tasks as licensing_tasks
from licensing.models import IssuedDocument, Permit
from reports import services as report_services
from reports.quarters import Quarter
from reports.tasks import quarter_rollover
from worker.models import OutboxMessage
from worker.outbox import outbox_mark_done

from .factories import UserFactory
from .support_licensing import APPLICANTS, HCM, dossier, required_upload

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "6"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "30"))
START = datetime(2026, 9, 28, 9, 0, tzinfo=HCM)  # days before a quarter end; Tết 2027 is within reach
PROCEDURES = list(APPLICANTS)
# The two facility procedures come up more often, so that a facility is licensed again (a re-issue) in a run.
RECEIVED_PROCEDURES = PROCEDURES + ["printing_licence", "print_registration"] * 2
NOISE = ["", "\x0b", "\x0c", "\u2028", "\x00", "\t", "\r\n"]  # what Word and other programs paste
USER_ROLES = [r.LICENSING_OFFICER, r.DEPARTMENT_HEAD]
ALL_ROLES = frozenset({r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})


class BrokenDocument(Exception):
    pass


class CaseRules(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self):
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.clock = time_machine.travel(START, tick=False)
        self.coordinates = self.clock.start()
        self.officer = UserFactory(roles=[r.LICENSING_OFFICER])
        self.head = UserFactory(roles=[r.DEPARTMENT_HEAD])
        self.ended: dict[str, dict] = {}  # quarter → its figures when first seen ended
        self.fail_documents = 0  # the next n result documents fail to be written
        self.render = licensing_services.document_render

    def teardown(self):
        licensing_services.document_render = self.render
        self.clock.stop()
        transaction.savepoint_rollback(self.savepoint)

    # --- The work the workers do ---------------------------------------------------------------------------

    def _render(self, content):
        if self.fail_documents and content.kind in ("permit", "approval"):
            self.fail_documents -= 1
            raise BrokenDocument("All strings must be XML compatible")
        return self.render(content)

    def drain(self):
        """Run every queued outbox row as the workers would, until none is left that can run."""
        licensing_services.document_render = self._render
        for _round in range(5):
            rows = list(OutboxMessage.objects.filter(done_at__isnull=True).order_by("pk"))
            progressed = False
            for row in rows:
                name, kwargs = row.task_name, row.kwargs
                try:
                    if name == "cases.case_intake":
                        case_services.cases_intake(case_ids=[kwargs["case_id"]])
                    elif name == "reports.case_refresh":
                        report_services.contributions_refresh(case_ids=[kwargs["case_id"]])
                    elif name == "licensing.result_issue":
                        licensing_tasks.result_issue(case_id=kwargs["case_id"], outbox_id=None)
                    elif name == "licensing.refusal_letter_issue":
                        licensing_services.refusal_letter_issue(case_id=kwargs["case_id"])
                    elif name == "licensing.apology_letter_issue":
                        licensing_services.apology_letter_issue(case_id=kwargs["case_id"], event_id=kwargs["event_id"])
                except BrokenDocument:
                    continue  # stays undone: the sweep sends it again later
                with transaction.atomic():
                    outbox_mark_done(row.pk)
                progressed = True
            if not progressed:
                break

    # --- Rules ---------------------------------------------------------------------------------------------

    @rule(target=cases, procedure=st.sampled_from(RECEIVED_PROCEDURES), noise=st.sampled_from(NOISE))
    def receive(self, procedure, noise):
        fields = dossier(procedure)
        if procedure == "press_conference":
            fields["event_at"] = (datetime.now(HCM) + timedelta(days=3)).isoformat()
        name_field = {"bulletin": "bulletin_name", "press_conference": "content"}.get(procedure)
        if name_field:
            fields[name_field] = f"{fields[name_field]}{noise}số {Case.objects.count() + 1}"
        organisation = {**APPLICANTS[procedure], "name": f"{APPLICANTS[procedure]['name']}{noise}"}
        case, created = licensing_services.application_receive(
            actor=self.officer, procedure=procedure, fields=fields, organisation=organisation,
            contact_email=APPLICANTS[procedure]["email"])
        assert created
        if (required := required_upload(procedure) if procedure != "press_conference" else None) is not None:
            kind, upload = required
            case_services.attachment_add(case_id=case.pk, actor=self.officer, upload=upload, kind=kind)
        self.drain()
        return case.pk

    @rule(case_id=cases, data=st.data(), noise=st.sampled_from(NOISE))
    def act(self, case_id, data, noise):
        case = Case.objects.select_related("case_type").get(pk=case_id)
        choices = [t for t in transitions_available(domain="licensing", state=case.state, roles=ALL_ROLES)]
        if not choices:
            return
        transition = data.draw(st.sampled_from(sorted(choices, key=lambda t: t.action)))
        actor = self.head if r.DEPARTMENT_HEAD in transition.roles and not (
            r.LICENSING_OFFICER in transition.roles and data.draw(st.booleans())) else self.officer
        against = case_services.decision_against_proposal(case, transition)
        note = f"Lý do{noise} kiểm tra." if transition.requires_note or against or data.draw(st.booleans()) else ""
        new_due_at = None
        if transition.action == "apologise_late":
            base = max(datetime.now(HCM), case.due_at) if case.due_at else datetime.now(HCM)
            new_due_at = base + timedelta(days=data.draw(st.integers(1, 10)))
        try:
            case_services.case_transition(case_id=case.pk, actor=actor, action=transition.action,
                                          version=case.version, note=note, new_due_at=new_due_at)
        except licensing_services.DossierIncomplete:
            assert transition.action in ("propose_grant", "approve")
        except Conflict:
            # A licence a later one replaced is not revoked: the one in force is (licensing.services).
            assert transition.action == "revoke"
            assert Permit.objects.filter(case_id=case.pk, replaced_by__isnull=False).exists()
        self.drain()

    @rule(case_id=cases, revoke=st.just(False))
    def grant_straight(self, case_id, revoke):
        """The common path taken without detours, each step a real transition: review, the officer's proposal to
        grant, the head's approval (and then, sometimes, a revocation). Random single actions seldom get this far;
        this rule makes issued, re-issued (a later licence of the same print facility) and revoked licences
        frequent, so that the invariants about them are tried."""
        path = {State.RECEIVED: ["start_review", "propose_grant", "approve"],
                State.IN_REVIEW: ["propose_grant", "approve"], State.PROPOSED: ["approve"],
                State.ISSUED: ["revoke"] if revoke else []}
        for action in path.get(Case.objects.get(pk=case_id).state, []):
            case = Case.objects.get(pk=case_id)
            actor = self.head if action in ("approve", "revoke") else self.officer
            try:
                case_services.case_transition(case_id=case.pk, actor=actor, action=action, version=case.version,
                                              note="Lý do kiểm tra." if action == "revoke" else "")
            except licensing_services.DossierIncomplete:
                assert action in ("propose_grant", "approve")
                break
            except Conflict:
                assert action == "revoke"
                assert Permit.objects.filter(case_id=case.pk, replaced_by__isnull=False).exists()
            except ValidationFailed:
                # The head approving against a proposal to refuse needs reasons: not this path.
                assert action == "approve" and case.proposal == "refuse"
                break
            self.drain()

    @precondition(lambda self: Permit.objects.in_force().filter(print_facility__isnull=False).exists())
    @rule(data=st.data())
    def reissue(self, data):
        """A print facility whose licence is in force applies again (a change, a loss) and is granted at once: the
        new licence replaces the earlier one."""
        permit = data.draw(st.sampled_from(list(
            Permit.objects.in_force().filter(print_facility__isnull=False).order_by("pk"))))
        self.grant_straight(self.receive(permit.procedure, ""), revoke=False)

    @precondition(lambda self: Case.objects.filter(state=State.ISSUED).exists())
    @rule(data=st.data())
    def revoke(self, data):
        """The head revokes an issued licence: the one in force, or (refused) one a re-issue replaced."""
        case_id = data.draw(st.sampled_from(list(
            Case.objects.filter(state=State.ISSUED).order_by("pk").values_list("pk", flat=True))))
        self.grant_straight(case_id, revoke=True)

    @rule(case_id=cases, noise=st.sampled_from(NOISE))
    def supplement(self, case_id, noise):
        """The applicant's supplement changes a dossier field (the dossier is editable until a proposal)."""
        case = Case.objects.select_related("case_type", "dossier").get(pk=case_id)
        if case.state not in (State.RECEIVED, State.IN_REVIEW, State.SUPPLEMENT_REQUESTED):
            return
        fields = dict(case.dossier.fields)
        key = {"bulletin": "purpose", "press_conference": "venue", "publication_import": "purpose",
               "noncommercial_publication": "purpose"}.get(case.case_type.code, "products")
        fields[key] = f"{fields.get(key, '')}{noise} (bổ sung)"[:1900]
        licensing_services.dossier_update(case_id=case.pk, actor=self.officer, fields=fields, version=case.version)
        self.drain()

    @rule(n=st.integers(1, 2))
    def documents_fail(self, n):
        self.fail_documents = n

    @rule(hours=st.sampled_from([1, 3, 8, 20, 26, 50, 24 * 4, 24 * 9, 24 * 20, 24 * 35]))
    def jump(self, hours):
        before = Quarter.current()
        self.coordinates.shift(timedelta(hours=hours))
        if Quarter.current() != before:
            quarter_rollover()  # the beat job at a new quarter
        case_services_overdue_sweep()
        self.drain()

    @rule()
    def sweep_resends(self):
        """The recovery sweep sends failed rows again: here, the queued work simply runs again."""
        self.drain()

    # --- Invariants ------------------------------------------------------------------------------------------

    @invariant()
    def issued_outcome_is_the_decided_one(self):
        permits = Counter(Permit.objects.values_list("case_id", flat=True))
        assert all(n == 1 for n in permits.values())
        for case in Case.objects.filter(case_type__domain="licensing"):
            has_permit = case.pk in permits
            if case.state in (State.ISSUED, State.REVOKED):
                assert case.outcome == "granted" and has_permit, case.reference
                kind = "permit" if case.terms.result_unit == "GP" else "approval"
                assert IssuedDocument.objects.filter(case=case, kind=kind).exists()
            else:
                assert not has_permit, (case.reference, case.state)
            if case.state == State.REFUSED:
                assert case.outcome == "refused"
                if not OutboxMessage.objects.filter(done_at__isnull=True,
                                                    task_name="licensing.refusal_letter_issue").exists():
                    assert IssuedDocument.objects.filter(case=case, kind="refusal").exists()
            if case.outcome == "granted":
                assert case.outcome_reasons == ""

    @invariant()
    def every_issued_document_has_its_public_record(self):
        """Electronic results: each document issued prints a verification code whose public record names the same
        issuer and number, and a revoked permit's record says revoked (and only then)."""
        revoked = dict(Permit.objects.values_list("document_id", "revoked_at"))
        for document in IssuedDocument.objects.select_related("verifiable"):
            record = document.verifiable
            assert record is not None, document.number_text
            assert (record.issuer_id, record.number_text) == (document.issuer_id, document.number_text)
            if document.pk in revoked:
                assert (record.status == "revoked") == (revoked[document.pk] is not None), document.number_text

    @invariant()
    def one_licence_in_force_per_facility_and_procedure(self):
        """A re-issue replaces the earlier licence of the same print facility and procedure: at most one is in
        force, a replaced one says so publicly and names a later licence of the same facility, and none is both
        replaced and revoked."""
        in_force = Counter(Permit.objects.in_force().filter(print_facility__isnull=False)
                           .values_list("print_facility_id", "procedure"))
        assert all(n == 1 for n in in_force.values()), in_force
        for permit in Permit.objects.filter(replaced_by__isnull=False).select_related(
                "replaced_by", "document__verifiable"):
            assert permit.revoked_at is None, permit.number_text
            assert (permit.replaced_by.print_facility_id, permit.replaced_by.procedure) == (
                permit.print_facility_id, permit.procedure)
            assert permit.replaced_by.issued_at >= permit.issued_at
            assert permit.document.verifiable.status == "replaced", permit.number_text

    @invariant()
    def results_equal_the_register(self):
        kept = report_services.figures_kept()
        results = defaultdict(int)
        for key, value in kept.items():
            type_id, cell = key
            if cell.endswith(":results"):
                results[(type_id, cell.split(":")[0])] += value
        register = defaultdict(int)
        for permit in Permit.objects.select_related("case"):
            register[(permit.case.case_type_id, str(Quarter.of(permit.issued_at)))] += 1
        assert dict(results) == {k: v for k, v in register.items() if v}

    @invariant()
    def ended_quarters_never_change(self):
        now = Quarter.current()
        rebuilt = report_services.figures_compute()
        by_quarter = defaultdict(dict)
        for (type_id, cell), value in rebuilt.items():
            by_quarter[cell.split(":")[0]][(type_id, cell)] = value
        for quarter_text in {str(q) for q in report_services.quarters_with_activity()} | set(self.ended):
            if Quarter.parse(quarter_text) >= now:
                continue
            figures = by_quarter.get(quarter_text, {})
            if quarter_text in self.ended:
                assert figures == self.ended[quarter_text], quarter_text
            else:
                self.ended[quarter_text] = figures

    @invariant()
    def kept_figures_equal_the_rebuild(self):
        check = report_services.figures_check(quarters=report_services.quarters_with_activity() or None,
                                              repair=False)
        assert not check.mismatches and not check.drift, (check.mismatches[:5], check.drift[:5])

    @invariant()
    def numbers_are_gap_free(self):
        numbers = defaultdict(list)
        for series, year, number in IssuedDocument.objects.filter(number__isnull=False) \
                .values_list("series", "year", "number"):
            numbers[(series, year)].append(number)
        for key, values in numbers.items():
            assert sorted(values) == list(range(1, len(values) + 1)), key

    @invariant()
    def every_open_case_has_a_way_forward(self):
        for case in Case.objects.filter(case_type__domain="licensing").exclude(state__in=TERMINAL):
            people = [t for t in WORKFLOWS["licensing"].values() if case.state in t.sources and t.roles & ALL_ROLES]
            assert people, (case.reference, case.state)


def case_services_overdue_sweep():
    """The beat job's work, in process: flag each case that went past its due date."""
    from cases.selectors import overdue_q

    for case_id in Case.objects.filter(overdue_q(), overdue_flagged_at__isnull=True).values_list("pk", flat=True):
        case_services.case_overdue_flag(case_id=case_id)


def test_the_rules_hold_on_every_path(db, django_db_blocker):
    run_state_machine_as_test(CaseRules, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck)))
