"""Reads: which campaigns, targets and findings a user may see; the current finding per item."""

from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

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


# --- Which findings count (issue 17: two inspectors, one item) --------------------------------------------
#
# THE RULE. Findings are never changed: each inspector's latest finding on an item (by device time, then arrival,
# then id) is that inspector's current finding; a finding the lead rejected drops out (the inspector has no answer
# on the item until they record a new one). An item's answer is the result its current findings agree on; when
# the lead has accepted some of them, only the accepted ones are asked. Two current findings with different
# results are a disagreement: the item counts as "pending review" (neither compliant nor a violation) until the
# lead resolves it (accepts one side, or rejects / asks to correct the other). So an item counts once: in
# findings_count when it has a current finding, in violations_count when its answer is a violation, in
# disputed_count while its inspectors disagree. A photo-only item's answer is "photo".


def _finding_order(finding: Finding) -> tuple:
    return (finding.device_time, finding.received_at, str(finding.pk))


@dataclass
class ItemFindings:
    """One checklist item at one target: every inspector's current finding, and the answer that counts."""

    item_id: int
    current: list[Finding] = field(default_factory=list)  # one per inspector (rejected ones left out), by time
    history: list[Finding] = field(default_factory=list)  # every finding on the item, oldest first
    answer: Finding | None = None  # the finding that counts (None: not recorded, or disputed)
    disputed: bool = False


def item_findings(target: Target, findings=None) -> dict[int, ItemFindings]:
    """Per checklist item of the target that has findings, the rule above applied (see the module's THE RULE)."""
    if findings is None:
        findings = target.findings.select_related("item", "inspector", "reviewed_by").order_by()
    items: dict[int, ItemFindings] = {}
    latest: dict[tuple[int, int], Finding] = {}
    for finding in sorted(findings, key=_finding_order):
        items.setdefault(finding.item_id, ItemFindings(item_id=finding.item_id)).history.append(finding)
        latest[(finding.item_id, finding.inspector_id)] = finding
    for (item_id, _inspector), finding in sorted(latest.items(), key=lambda pair: _finding_order(pair[1])):
        if finding.review_state != Finding.Review.REJECTED:
            items[item_id].current.append(finding)
    for entry in items.values():
        accepted = [f for f in entry.current if f.review_state == Finding.Review.ACCEPTED]
        asked = accepted or entry.current
        if len({f.result for f in asked}) > 1:
            entry.disputed = True
        elif asked:
            entry.answer = asked[-1]
    return items


def findings_current(target: Target) -> dict[int, Finding]:
    """Per checklist item, the finding that counts under THE RULE above (a disputed item has none)."""
    return {item_id: entry.answer for item_id, entry in item_findings(target).items() if entry.answer is not None}


def items_disputed(target: Target) -> list[int]:
    """The items whose inspectors disagree (pending the lead's review)."""
    return [item_id for item_id, entry in item_findings(target).items() if entry.disputed]


# The same rule in SQL, per target (for lists): the current findings, then one row per item. Plain SQL that
# PostgreSQL and the embedded mode's SQLite both run (no FILTER, bool_or or casts); a finding's id is a UUID, whose
# order is the same as its text's on both.
_CURRENT_ITEMS_SQL = """
    SELECT cur.item_id,
           CASE WHEN max(CASE WHEN cur.review_state = 'accepted' THEN 1 ELSE 0 END) = 1
                THEN count(DISTINCT CASE WHEN cur.review_state = 'accepted' THEN cur.result END)
                ELSE count(DISTINCT cur.result) END AS results,
           CASE WHEN max(CASE WHEN cur.review_state = 'accepted' THEN 1 ELSE 0 END) = 1
                THEN min(CASE WHEN cur.review_state = 'accepted' THEN cur.result END)
                ELSE min(cur.result) END AS answer
      FROM inspections_finding cur
     WHERE cur.target_id = inspections_target.id
       AND cur.review_state <> 'rejected'
       AND NOT EXISTS (SELECT 1 FROM inspections_finding later
                        WHERE later.target_id = cur.target_id AND later.item_id = cur.item_id
                          AND later.inspector_id = cur.inspector_id
                          AND (later.device_time, later.received_at, later.id)
                              > (cur.device_time, cur.received_at, cur.id))
     GROUP BY cur.item_id
"""


def target_counts(queryset: QuerySet[Target]) -> QuerySet[Target]:
    """findings_count (items recorded), violations_count (items whose answer is a violation) and disputed_count
    (items pending review because their inspectors disagree), under THE RULE above: each item counts once."""
    return queryset.annotate(
        findings_count=RawSQL(f"(SELECT count(*) FROM ({_CURRENT_ITEMS_SQL}) items)", []),
        violations_count=RawSQL(
            f"(SELECT count(*) FROM ({_CURRENT_ITEMS_SQL}) items WHERE results = 1 AND answer = 'violation')", []),
        disputed_count=RawSQL(f"(SELECT count(*) FROM ({_CURRENT_ITEMS_SQL}) items WHERE results > 1)", []),
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
