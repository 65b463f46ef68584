"""Reads: which campaigns, targets and findings a user may see; the current finding per item."""

from django.db.models import Count, Q, QuerySet

from cases import roles as r
from cases.selectors import cases_visible

from .models import Campaign, Document, Finding, FollowUp, Photo, SanctionDecision, Target, ViolationRecord

LEAD_ROLES = frozenset({r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})
FIELD_ROLES = frozenset({r.INSPECTOR, r.INSPECTION_LEAD})


def campaigns_visible(*, user) -> QuerySet[Campaign]:
    """Campaigns of the inspection cases the user may read: an inspector only those they are on (lead or
    member), leads, the head, the reporter and administrators all, licensing officers none."""
    cases = cases_visible(user=user).filter(case_type__domain="inspection").values("pk")
    return Campaign.objects.filter(case__in=cases).select_related("case__case_type", "case__assignee", "checklist")


def targets_visible(*, user) -> QuerySet[Target]:
    return Target.objects.filter(campaign__in=campaigns_visible(user=user).values("pk")).select_related(
        "establishment", "campaign__case__case_type")


def findings_visible(*, user) -> QuerySet[Finding]:
    return Finding.objects.filter(target__in=targets_visible(user=user).values("pk")).select_related(
        "item", "inspector")


def photos_visible(*, user) -> QuerySet[Photo]:
    return Photo.objects.filter(finding__in=findings_visible(user=user).values("pk"))


def violations_visible(*, user) -> QuerySet[ViolationRecord]:
    return ViolationRecord.objects.filter(target__in=targets_visible(user=user).values("pk")).select_related(
        "target__establishment", "target__campaign__case", "sanction")


def sanctions_visible(*, user) -> QuerySet[SanctionDecision]:
    return SanctionDecision.objects.filter(violation__in=violations_visible(user=user).values("pk")).select_related(
        "violation__target__establishment", "violation__target__campaign__case")


def follow_ups_visible(*, user) -> QuerySet[FollowUp]:
    return FollowUp.objects.filter(violation__in=violations_visible(user=user).values("pk")).select_related(
        "violation")


def documents_visible(*, user) -> QuerySet[Document]:
    return Document.objects.filter(campaign__in=campaigns_visible(user=user).values("pk"))


def team_ids(case) -> set[int]:
    """The lead (assignee) and the members of a campaign's case."""
    ids = set(case.members.values_list("pk", flat=True))
    if case.assignee_id:
        ids.add(case.assignee_id)
    return ids


def on_team(case, user) -> bool:
    return user is not None and user.pk in team_ids(case)


def findings_current(target: Target) -> dict[int, Finding]:
    """Per checklist item, the finding that counts: the latest by device time (then by arrival)."""
    current: dict[int, Finding] = {}
    for finding in target.findings.select_related("item", "inspector").order_by("device_time", "received_at"):
        current[finding.item_id] = finding
    return current


def target_counts(queryset: QuerySet[Target]) -> QuerySet[Target]:
    return queryset.annotate(
        findings_count=Count("findings", distinct=True),
        violations_count=Count("findings", filter=Q(findings__result=Finding.Result.VIOLATION), distinct=True),
    )


# --- The registry as the office reads it (issue 17: registry, planning, map) --------------------------------------

REGISTRY_READERS = frozenset({r.INSPECTOR, r.INSPECTION_LEAD, r.DEPARTMENT_HEAD, r.ADMINISTRATOR})


def establishments_visible(*, user):
    """Entries of the registries of the user's agencies and of their predecessors (as the API shows them)."""
    from agencies.selectors import agency_ids_visible

    from .models import Establishment

    if not r.user_roles(user) & REGISTRY_READERS:
        return Establishment.objects.none()
    return Establishment.objects.filter(agency_id__in=agency_ids_visible(user)).select_related("agency")


def violations_open_q():
    """A violation record still open: its sanction not decided yet, or a correction not verified."""
    from django.db.models import Exists, OuterRef, Q

    pending = FollowUp.objects.filter(violation=OuterRef("pk"), done_at__isnull=True)
    return Q(sanction__isnull=True) | Q(sanction__decided_at__isnull=True) | Q(Exists(pending))


def establishments_with_history(queryset):
    """Each entry with `last_visited_at` (its latest visit in any campaign), `violations_total`, `violations_open`,
    `reminders_total` and `follow_ups_open` (corrections due and not verified): subqueries, one row per entry."""
    from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
    from django.db.models.functions import Coalesce

    def counted(qs, field: str):
        return Coalesce(Subquery(qs.values(field).annotate(n=Count("pk")).values("n")[:1],
                                 output_field=IntegerField()), Value(0))

    visits = Target.objects.filter(establishment=OuterRef("pk"), visited_at__isnull=False).order_by("-visited_at")
    violations = ViolationRecord.objects.filter(target__establishment=OuterRef("pk"))
    return queryset.annotate(
        last_visited_at=Subquery(visits.values("visited_at")[:1]),
        violations_total=counted(violations, "target__establishment"),
        violations_open=counted(violations.filter(violations_open_q()), "target__establishment"),
        reminders_total=counted(Target.objects.filter(establishment=OuterRef("pk"), outcome="reminder"),
                                "establishment"),
        follow_ups_open=counted(FollowUp.objects.filter(violation__target__establishment=OuterRef("pk"),
                                                        done_at__isnull=True), "violation__target__establishment"),
    )
