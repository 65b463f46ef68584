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
