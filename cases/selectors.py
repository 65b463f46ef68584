"""Reads: which cases a user may see, overdue and due soon."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from agencies.selectors import agency_ids_visible

from . import roles as r
from .models import Case, minute_floor
from .search import StoredCaseWords, search_q
from .workflow import CLOCK_RUNNING


def cases_visible(*, user) -> QuerySet[Case]:
    """Cases the user's roles let them read: scoping is by agency (theirs and their predecessors'), by domain,
    and for inspectors by team."""
    roles = r.user_roles(user)
    qs = Case.objects.select_related("case_type", "assignee").filter(agency_id__in=agency_ids_visible(user))
    if roles & {r.ADMINISTRATOR, r.DEPARTMENT_HEAD, r.REPORTER}:
        return qs
    scope = Q(pk__in=[])
    if r.LICENSING_OFFICER in roles:
        scope |= Q(case_type__domain="licensing")
    if r.INSPECTION_LEAD in roles:
        scope |= Q(case_type__domain="inspection")
    if r.INSPECTOR in roles:
        team = Case.members.through.objects.filter(user_id=user.pk).values("case_id")
        scope |= Q(case_type__domain="inspection") & (Q(assignee=user) | Q(pk__in=team))
    return qs.filter(scope)


def text_search_q(value: str) -> Q:
    """Cases whose subject and summary hold the words of `value` (accent- and case-insensitive, whole words), or
    whose reference holds `value`: the API's `q` filter and the officers' search (cases/search.py)."""
    return search_q(value, words_in=StoredCaseWords(), codes=("reference",))


def overdue_q(now=None) -> Q:
    return Q(state__in=CLOCK_RUNNING, due_at__lt=minute_floor(now or timezone.now()))  # late once the minute passed


def due_soon_q(now=None, hours: int | None = None) -> Q:
    now = now or timezone.now()
    horizon = now + timedelta(hours=hours if hours is not None else settings.DUE_SOON_HOURS)
    return Q(state__in=CLOCK_RUNNING, due_at__gte=minute_floor(now), due_at__lt=horizon)


def case_domain_roles_may_work(*, user, domain: str) -> bool:
    """Roles that act on cases of a domain (notes, files); the reporter only reads."""
    roles = r.user_roles(user)
    working = {
        "licensing": {r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR},
        "inspection": {r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR},
    }[domain]
    return bool(roles & working)
