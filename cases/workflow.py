"""States and the allowed transitions of a case, per domain: one explicit table.

Each edge says who may take it (roles), what it needs (reasons, a new date) and what it
does to the case (effects, applied by cases.services.case_transition).
"""

from dataclasses import dataclass, field

from django.db import models
from django.utils.translation import gettext_lazy as _

from . import roles as r


class State(models.TextChoices):
    # licensing
    RECEIVED = "received", _("Received")
    IN_REVIEW = "in_review", _("In review")
    SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplement requested")
    PROPOSED = "proposed", _("Proposed for decision")
    APPROVED = "approved", _("Approved, result being issued")
    ISSUED = "issued", _("Result issued")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REVOKED = "revoked", _("Revoked")
    # inspection
    PLANNED = "planned", _("Planned")
    ANNOUNCED = "announced", _("Announced")
    IN_FIELD = "in_field", _("In the field")
    FINDINGS_CLOSED = "findings_closed", _("Findings closed")
    CONCLUDED = "concluded", _("Concluded")
    CLOSED = "closed", _("Followed up and closed")
    CANCELLED = "cancelled", _("Cancelled")
    # periodic report (reports/): states of their own, so that no licensing or inspection list ever matches them
    REPORT_DRAFT = "report_draft", _("Report: draft")
    REPORT_CONTRIBUTING = "report_contributing", _("Report: divisions contributing")
    REPORT_REVIEW = "report_review", _("Report: in the head's review")
    REPORT_APPROVED = "report_approved", _("Report: approved")
    REPORT_ISSUED = "report_issued", _("Report: issued")
    REPORT_SENT = "report_sent", _("Report: sent")


class Outcome(models.TextChoices):
    NONE = "", _("None yet")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CONCLUDED = "concluded", _("Concluded")
    CANCELLED = "cancelled", _("Cancelled")


class Effect:
    """What a transition does besides moving the state (applied in the service)."""

    PAUSE_CLOCK = "pause_clock"
    RESUME_CLOCK = "resume_clock"
    DECIDE = "decide"  # sets decided_at and the outcome
    CLOSE = "close"  # sets closed_at
    NEW_DUE_DATE = "new_due_date"  # apology letter: a new appointment date
    RECORD_PROPOSAL = "record_proposal"
    UNDECIDE = "undecide"  # a grant taken back before its result was issued


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state does not change
    roles: frozenset[str]
    requires_note: bool = False
    effects: tuple[str, ...] = ()
    outcome: str | None = None
    proposal: str | None = None
    extra: dict = field(default_factory=dict)


S = State
OFFICER_OR_HEAD = frozenset({r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
HEAD = frozenset({r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
LEAD = frozenset({r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
SYSTEM = frozenset()  # only the worker (actor None) takes these

LICENSING_OPEN = frozenset({S.RECEIVED, S.IN_REVIEW, S.SUPPLEMENT_REQUESTED, S.PROPOSED})

LICENSING = (
    Transition("start_review", _("Start review"), frozenset({S.RECEIVED}), S.IN_REVIEW, OFFICER_OR_HEAD),
    Transition(
        "request_supplement", _("Request a supplement"), frozenset({S.RECEIVED, S.IN_REVIEW}),
        S.SUPPLEMENT_REQUESTED, OFFICER_OR_HEAD, requires_note=True, effects=(Effect.PAUSE_CLOCK,),
    ),
    Transition(
        "receive_supplement", _("Supplement received, resume"), frozenset({S.SUPPLEMENT_REQUESTED}),
        S.IN_REVIEW, OFFICER_OR_HEAD, effects=(Effect.RESUME_CLOCK,),
    ),
    Transition(
        "propose_grant", _("Propose to grant"), frozenset({S.IN_REVIEW}), S.PROPOSED, OFFICER_OR_HEAD,
        effects=(Effect.RECORD_PROPOSAL,), proposal="grant",
    ),
    Transition(
        "propose_refusal", _("Propose to refuse"), frozenset({S.IN_REVIEW}), S.PROPOSED, OFFICER_OR_HEAD,
        requires_note=True, effects=(Effect.RECORD_PROPOSAL,), proposal="refuse",
    ),
    # The head's three answers name their outcome. Deciding against the officer's proposal needs written reasons
    # (cases.services checks it) and is marked on the timeline and in the document.
    Transition(
        "return_for_review", _("Return to the officer"), frozenset({S.PROPOSED}), S.IN_REVIEW, HEAD,
        requires_note=True, effects=(Effect.RECORD_PROPOSAL,), proposal="",
    ),
    Transition(
        "approve", _("Grant the licence"), frozenset({S.PROPOSED}), S.APPROVED, HEAD,
        effects=(Effect.DECIDE,), outcome=Outcome.GRANTED,
    ),
    Transition(
        "refuse", _("Agree to refuse"), frozenset({S.PROPOSED}), S.REFUSED, HEAD,
        requires_note=True, effects=(Effect.DECIDE, Effect.CLOSE), outcome=Outcome.REFUSED,
    ),
    Transition("issue", _("Issue the result"), frozenset({S.APPROVED}), S.ISSUED, SYSTEM, effects=(Effect.CLOSE,)),
    # A result that could not be written (its task failed): try again, or take the decision back to correct the
    # dossier. Either way nothing was counted yet: a grant counts once its document exists.
    Transition("retry_issue", _("Issue the result again"), frozenset({S.APPROVED}), None, OFFICER_OR_HEAD),
    Transition(
        "reopen_decision", _("Take the decision back for correction"), frozenset({S.APPROVED}), S.IN_REVIEW, HEAD,
        requires_note=True, effects=(Effect.UNDECIDE, Effect.RECORD_PROPOSAL), proposal="",
    ),
    Transition(
        "withdraw", _("Withdraw at the applicant's request"), LICENSING_OPEN, S.WITHDRAWN, OFFICER_OR_HEAD,
        requires_note=True, effects=(Effect.CLOSE,), outcome=Outcome.WITHDRAWN,
    ),
    Transition(
        "apologise_late", _("Apologise and set a new appointment date"),
        frozenset({S.RECEIVED, S.IN_REVIEW, S.PROPOSED}), None, OFFICER_OR_HEAD,
        requires_note=True, effects=(Effect.NEW_DUE_DATE,),
    ),
    Transition("revoke", _("Revoke"), frozenset({S.ISSUED}), S.REVOKED, HEAD, requires_note=True),
)

INSPECTION = (
    Transition("announce", _("Announce the decision"), frozenset({S.PLANNED}), S.ANNOUNCED, LEAD),
    Transition("start_fieldwork", _("Start fieldwork"), frozenset({S.ANNOUNCED}), S.IN_FIELD, LEAD),
    Transition("close_findings", _("Close findings"), frozenset({S.IN_FIELD}), S.FINDINGS_CLOSED, LEAD),
    Transition(
        "conclude", _("Conclude"), frozenset({S.FINDINGS_CLOSED}), S.CONCLUDED, LEAD,
        requires_note=True, effects=(Effect.DECIDE,), outcome=Outcome.CONCLUDED,
    ),
    Transition("close", _("Close after follow-up"), frozenset({S.CONCLUDED}), S.CLOSED, LEAD, effects=(Effect.CLOSE,)),
    Transition(
        "cancel", _("Cancel"), frozenset({S.PLANNED, S.ANNOUNCED}), S.CANCELLED, LEAD,
        requires_note=True, effects=(Effect.DECIDE, Effect.CLOSE), outcome=Outcome.CANCELLED,
    ),
)

# A periodic report: the office (reporter) opens it to the divisions, each division writes its sections, the office
# sends it to the head, who returns it or approves it; the office or the head issues it (number, date, frozen
# content: reports/report_services.py, the only door: reports/hooks.py guards every action) and sends it.
OFFICE = frozenset({r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
REPORT = (
    Transition("open_contributions", _("Open to the divisions"), frozenset({S.REPORT_DRAFT}),
               S.REPORT_CONTRIBUTING, OFFICE),
    Transition("submit_for_review", _("Send to the head for review"), frozenset({S.REPORT_CONTRIBUTING}),
               S.REPORT_REVIEW, OFFICE),
    Transition("return_for_changes", _("Return to the divisions"), frozenset({S.REPORT_REVIEW}),
               S.REPORT_CONTRIBUTING, HEAD, requires_note=True),
    Transition("approve_report", _("Approve the report"), frozenset({S.REPORT_REVIEW}), S.REPORT_APPROVED, HEAD),
    Transition("issue_report", _("Issue the report (number and date)"), frozenset({S.REPORT_APPROVED}),
               S.REPORT_ISSUED, OFFICE),
    Transition("send_report", _("Mark the report sent"), frozenset({S.REPORT_ISSUED}), S.REPORT_SENT, OFFICE,
               effects=(Effect.CLOSE,)),
)

WORKFLOWS: dict[str, dict[str, Transition]] = {
    "licensing": {t.action: t for t in LICENSING},
    "inspection": {t.action: t for t in INSPECTION},
    "report": {t.action: t for t in REPORT},
}
INITIAL_STATE = {"licensing": S.RECEIVED, "inspection": S.PLANNED, "report": S.REPORT_DRAFT}
# States in which the deadline clock runs (a paused or decided case is never overdue).
CLOCK_RUNNING = frozenset({S.RECEIVED, S.IN_REVIEW, S.PROPOSED, S.PLANNED, S.ANNOUNCED, S.IN_FIELD, S.FINDINGS_CLOSED})
TERMINAL = frozenset({S.ISSUED, S.REFUSED, S.WITHDRAWN, S.REVOKED, S.CLOSED, S.CANCELLED, S.REPORT_SENT})


def transition_get(domain: str, action: str) -> Transition | None:
    return WORKFLOWS.get(domain, {}).get(action)


def transitions_available(*, domain: str, state: str, roles: frozenset[str]) -> list[Transition]:
    return [t for t in WORKFLOWS[domain].values() if state in t.sources and t.roles & roles]
