"""Reads for the officers' pages: the queue, the approvals waiting, the permits registry.

What a user reads is scoped to their agencies and their predecessors' archives (cases.selectors.cases_visible); the
work lists (queue, unassigned, received, approvals) hold only the cases of the agencies they work for, the only ones
they may act on."""

from django.db import models
from django.db.models import F, Prefetch, QuerySet, Value, When
from django.utils import timezone

from agencies.selectors import agency_ids_member
from cases import roles as r
from cases.models import CaseEvent
from cases.selectors import cases_visible, due_soon_q, overdue_q, text_search_q
from cases.workflow import TERMINAL, State

from .models import Permit

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
