"""Reads: which cases a user may see, overdue and due soon."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
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
    qs = Case.objects.select_related("case_type", "assignee", "agency").filter(agency_id__in=agency_ids_visible(user))
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


AGENCY_WORDS_MAX_SHARE = 0.5
_share_cache: dict = {}


def cases_share_of_agencies(agency_ids, *, max_age: float = 300.0) -> float | None:
    """The share of all cases held by these agencies, as PostgreSQL's statistics of `cases_case.agency_id` have
    it (the planner's own figures, kept by ANALYZE; read at most every `max_age` seconds per process); None where
    there are none (SQLite, a table never analysed)."""
    if connection.vendor != "postgresql":
        return None
    now = time.monotonic()
    cached = _share_cache.get(connection.alias)
    if cached is None or now - cached[0] > max_age:
        with connection.cursor() as cursor:
            cursor.execute("SELECT most_common_vals::text::bigint[], most_common_freqs, n_distinct FROM pg_stats "
                           "WHERE schemaname = current_schema() AND tablename = 'cases_case' "
                           "AND attname = 'agency_id'")
            row = cursor.fetchone()
        cached = (now, row)
        _share_cache[connection.alias] = cached
    row = cached[1]
    if row is None:
        return None
    values, freqs, distinct = row[0] or [], row[1] or [], row[2] or 0
    common = dict(zip(values, freqs, strict=False))
    rest = max(0.0, 1.0 - sum(common.values()))
    # n_distinct < 0 says "a share of the rows are distinct": very many agencies, each holding next to nothing.
    others = max(1.0, (distinct if distinct > 0 else 1e6) - len(common))
    return sum(common.get(pk, rest / others) for pk in agency_ids)


def text_search_q(value: str, *, user=None) -> Q:
    """Cases whose subject and summary hold the words of `value` (accent- and case-insensitive, whole words), or
    whose reference holds `value`: the API's `q` filter and the officers' search (cases/search.py).

    Given the user, and where the agencies they may see hold at most half of the cases (one department among
    several in one installation), the words are looked up together with those agencies in one index scan: the
    same rows, without reading the other agencies' matches. A user who sees most of the cases searches the words
    alone (bench.agencies, docs/PERFORMANCE.md §7)."""
    agency_ids = None
    if user is not None:
        visible = agency_ids_visible(user)
        share = cases_share_of_agencies(visible)
        if share is not None and share <= AGENCY_WORDS_MAX_SHARE:
            agency_ids = visible
    return search_q(value, words_in=StoredCaseWords(agency_ids), codes=("reference",))


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
        "report": {r.REPORTER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR},
    }[domain]
    return bool(roles & working)
