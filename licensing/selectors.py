"""Reads for the officers' pages: the queue, the approvals waiting, the permits registry.

What a user reads is scoped to their agencies and their predecessors' archives (cases.selectors.cases_visible); the
work lists (queue, unassigned, received, approvals) hold only the cases of the agencies they work for, the only ones
they may act on."""

import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.db.models import F, Prefetch, QuerySet, Value, When
from django.utils import timezone

from agencies.selectors import agency_ids_member
from cases import roles as r
from cases.models import Case, CaseEvent
from cases.selectors import cases_visible, due_soon_q, overdue_q, text_search_q
from cases.workflow import TERMINAL, State

from .models import RECEIPT_SECRET_ALPHABET, RECEIPT_SECRET_LENGTH, Dossier, Permit

# Roles that read licensing cases (cases.selectors.cases_visible gives them the licensing domain).
LICENSING_READERS = frozenset({r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR, r.REPORTER})
# Roles that work on licensing cases: receive, review, propose (the reporter only reads).
LICENSING_WORKERS = frozenset({r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
# Roles that decide: the approval queue.
LICENSING_DECIDERS = frozenset({r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
PROPOSAL_ACTIONS = ("propose_grant", "propose_refusal")


def licensing_cases_visible(*, user) -> QuerySet:
    return cases_visible(user=user).filter(case_type__domain="licensing")


def agency_acts_for(user, agency_id: int) -> bool:
    """May the user act on a row of this agency (a case, a registry entry)? Only for the agencies they work for: a
    predecessor's archive is read, not changed. A superuser working for no agency acts for any."""
    member = agency_ids_member(user)
    return agency_id in member or bool(user.is_superuser and not member)


def licensing_cases_workable(*, user) -> QuerySet:
    """The licensing cases the user reads that belong to an agency they work for: what their work lists hold."""
    qs = licensing_cases_visible(user=user)
    member = agency_ids_member(user)
    return qs if user.is_superuser and not member else qs.filter(agency_id__in=member)


def _with_deadline_flags(qs: QuerySet, now=None) -> QuerySet:
    now = now or timezone.now()
    return qs.annotate(
        late=models.Case(When(overdue_q(now), then=Value(True)), default=Value(False),
                         output_field=models.BooleanField()),
        soon=models.Case(When(due_soon_q(now), then=Value(True)), default=Value(False),
                         output_field=models.BooleanField()),
    )


def _queue_order(qs: QuerySet) -> QuerySet:
    # Overdue first, then the nearest due date; a case without a due date last.
    return qs.order_by(F("late").desc(), F("due_at").asc(nulls_last=True), "received_at", "id")


def queue_for(*, user, now=None) -> QuerySet:
    """The user's open licensing cases (assignee = user), overdue first, then by due date."""
    qs = licensing_cases_workable(user=user).filter(assignee=user).exclude(state__in=TERMINAL)
    return _queue_order(_with_deadline_flags(qs, now))


def unassigned_open(*, user, now=None) -> QuerySet:
    """Open licensing cases nobody works on yet (the head assigns them)."""
    qs = licensing_cases_workable(user=user).filter(assignee__isnull=True).exclude(state__in=TERMINAL)
    return _queue_order(_with_deadline_flags(qs, now))


def received_by(*, user, now=None) -> QuerySet:
    """Open cases the user received that someone else now works on: the officer at the counter can still find
    what they took in."""
    qs = licensing_cases_workable(user=user).filter(created_by=user).exclude(state__in=TERMINAL) \
        .exclude(assignee=user)
    return _queue_order(_with_deadline_flags(qs, now))


def cases_search(*, user, text: str, now=None) -> QuerySet:
    """Licensing cases the user may read whose reference, applicant or summary holds `text`, newest first."""
    text = text.strip()
    qs = licensing_cases_visible(user=user).filter(text_search_q(text, user=user))
    return _with_deadline_flags(qs, now).order_by("-received_at", "-id")


def results_not_issued(*, user) -> QuerySet:
    """Granted cases whose result is not written yet, oldest decision first, with their latest failure (if any)
    as `issue_failures`: normally empty within seconds of the decision; what stays here needs a person."""
    failures = CaseEvent.objects.filter(kind=CaseEvent.Kind.ISSUE_FAILED).order_by("-at", "-id")
    return licensing_cases_workable(user=user).filter(state=State.APPROVED) \
        .prefetch_related(Prefetch("events", queryset=failures, to_attr="issue_failures")) \
        .order_by("decided_at", "id")


def approvals_pending(*, user, now=None) -> QuerySet:
    """Cases proposed for decision, with the officer's proposal event as `proposal_events`."""
    qs = licensing_cases_workable(user=user).filter(state=State.PROPOSED).select_related("dossier__organisation")
    proposals = CaseEvent.objects.filter(kind=CaseEvent.Kind.TRANSITION, action__in=PROPOSAL_ACTIONS) \
        .select_related("actor").order_by("-at", "-id")
    qs = qs.prefetch_related(Prefetch("events", queryset=proposals, to_attr="proposal_events"))
    return _queue_order(_with_deadline_flags(qs, now))


def approvals_pending_count(*, user) -> int:
    return licensing_cases_workable(user=user).filter(state=State.PROPOSED).count()


def permits_visible(*, user) -> QuerySet:
    visible = licensing_cases_visible(user=user)
    return Permit.objects.filter(case__in=visible.values("pk")).select_related(
        "holder", "document__verifiable", "case__case_type", "replaced_by")


# --- What the holder of a receipt reads (the public lookup, the applicants' portal) -------------------------


def receipt_secret_normalise(text: str) -> str:
    """The secret as typed from the printed receipt: any case, spaces and dashes ignored ("k7qm-3rxa")."""
    return re.sub(r"[\s\-]", "", str(text or "")).upper()


def receipt_secret_printed(secret: str) -> str:
    """ "K7QM3RXA" → "K7QM-3RXA": how the receipt prints it, in two groups of four."""
    half = len(secret) // 2
    return f"{secret[:half]}-{secret[half:]}" if secret else ""


_UNKNOWN = "!" * RECEIPT_SECRET_LENGTH  # compared against when the code is unknown: never equal to a real secret


def dossier_lookup(reference: str, secret: str) -> Case | None:
    """The licensing case whose dossier code (the case reference) and receipt secret are these, else None. An
    unknown code and a wrong secret give the same answer, after the same comparison (hmac.compare_digest against a
    stand-in when no dossier has the code), so that neither the answer nor its time says whether a code exists."""
    reference = str(reference or "").strip().upper()[:40]
    typed = receipt_secret_normalise(secret)[:32]
    found = Dossier.objects.filter(case__reference=reference, case__case_type__domain="licensing") \
        .values_list("case_id", "receipt_secret").first() if reference else None
    stored = found[1] if found and found[1] else _UNKNOWN
    well_formed = len(typed) == RECEIPT_SECRET_LENGTH and set(typed) <= set(RECEIPT_SECRET_ALPHABET)
    equal = hmac.compare_digest(stored.encode(), (typed if well_formed else _UNKNOWN.lower()).encode())
    if not (found and equal):
        return None
    return Case.objects.select_related("case_type", "agency", "terms", "dossier__organisation").get(pk=found[0])


@dataclass(frozen=True)
class PublicEvent:
    """One line of the timeline an applicant reads: what happened (`kind`, one of PUBLIC_KINDS), when, and only
    what was said to the applicant (`note`: the supplement asked for, the reasons of a refusal, of a lateness,
    of a revocation); `details`: the appointment ("due_at", ISO), the result's number ("number")."""

    at: datetime
    kind: str
    note: str = ""
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"at": self.at.isoformat(), "kind": self.kind, "note": self.note, "details": self.details}


# The transitions an applicant is entitled to know of, by the name the public timeline gives them. Left out: the
# officer's proposals, the head's return and grant (a grant is told when its result is issued; a grant taken back
# before issue was never a result), retries, assignments, notes, intake, files, notifications, internal failures.
PUBLIC_TRANSITIONS = {
    "start_review": "in_review",
    "request_supplement": "supplement_requested",
    "receive_supplement": "supplement_received",
    "refuse": "refused",
    "issue": "result_issued",
    "apologise_late": "apology",
    "withdraw": "withdrawn",
    "revoke": "revoked",
}
# Transitions whose note was written for the applicant (the others' notes are internal).
PUBLIC_NOTES = frozenset({"request_supplement", "refuse", "apologise_late", "withdraw", "revoke"})
PUBLIC_KINDS = ("received", *PUBLIC_TRANSITIONS.values())


def timeline_public(case: Case) -> list[PublicEvent]:
    """The case's timeline as the applicant may read it: its receipt, then the whitelisted transitions
    (PUBLIC_TRANSITIONS), oldest first. Never notes, assignments, internal events or who did what."""
    lines = [PublicEvent(at=case.received_at, kind="received",
                         details={"due_at": case.due_at.isoformat()} if case.due_at else {})]
    events = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION,
                                      action__in=list(PUBLIC_TRANSITIONS)).order_by("at", "id")
    for event in events:
        details = {}
        if event.action in ("apologise_late", "receive_supplement") and event.after.get("due_at"):
            details["due_at"] = event.after["due_at"]  # the new appointment
        elif event.action == "issue" and case.result_number:
            details["number"] = case.result_number
        lines.append(PublicEvent(at=event.at, kind=PUBLIC_TRANSITIONS[event.action],
                                 note=event.note if event.action in PUBLIC_NOTES else "", details=details))
    return lines
