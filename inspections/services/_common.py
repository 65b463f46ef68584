"""Shared by the inspections services: constants, checks, the campaign's lock and document numbers."""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

from cases import roles as r
from cases.errors import NotAllowed, NotFound, ValidationFailed
from cases.models import Case, CaseEvent
from cases.services import case_lock, sequence_next
from cases.workflow import State

from ..errors import CampaignClosedForChanges
from ..models import Campaign
from ..selectors import LEAD_ROLES

DECISION_SERIES = "QĐ"  # the decision to inspect: "12/QĐ-STTTT"
VIOLATION_SERIES = "BB-VPHC"
SANCTION_SERIES = "QĐ-XPVPHC"
SANCTION_WORKING_DAYS = 7  # Luật Xử lý vi phạm hành chính 2012, Điều 66, counted here in working days
TEAM_ROLES = frozenset({r.INSPECTOR, r.INSPECTION_LEAD})
CLOCK_SKEW = timedelta(minutes=5)
# A tablet's clock may be wrong by hours; its findings are kept all the same (received_at is the server's time).
DEVICE_CLOCK_SKEW = timedelta(days=1)

PLANNING_STATES = frozenset({State.PLANNED, State.ANNOUNCED, State.IN_FIELD})
OUTCOME_STATES = frozenset({State.IN_FIELD, State.FINDINGS_CLOSED})
# A photo of a finding already stored may arrive after the findings were closed: it is evidence, not a new answer.
PHOTO_STATES = frozenset({State.IN_FIELD, State.FINDINGS_CLOSED})
SANCTION_STATES = frozenset({State.IN_FIELD, State.FINDINGS_CLOSED, State.CONCLUDED})


def _invalid(field: str, message: str, error=ValidationFailed, **extra):
    raise error(message, extra={"errors": {field: [message]}, **extra})


def _event(case: Case, *, actor, kind: str, action: str, before: dict | None = None, after: dict | None = None,
           note: str = "") -> CaseEvent:
    return CaseEvent.objects.create(case=case, actor=actor, kind=kind, action=action, before=before or {},
                                    after=after or {}, note=note)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _not_future(moment: datetime, field: str, skew: timedelta = CLOCK_SKEW) -> None:
    if timezone.is_naive(moment):
        _invalid(field, _("A time zone is required."))
    if moment > timezone.now() + skew:
        _invalid(field, _("This time is in the future."))


def _is_lead(case: Case, user) -> bool:
    """The campaign's lead, or a role that directs inspections (lead, head, administrator)."""
    return user is not None and (user.pk == case.assignee_id or bool(r.user_roles(user) & LEAD_ROLES))


def _require_lead(case: Case, user) -> None:
    if not _is_lead(case, user):
        raise NotAllowed(_("Only the campaign's lead can do this."))


def _require_state(case: Case, states, error=CampaignClosedForChanges) -> None:
    if case.state not in states:
        raise error(extra={"state": case.state})


def _campaign_locked(campaign_id: int) -> tuple[Campaign, Case]:
    campaign = Campaign.objects.filter(pk=campaign_id).only("case_id").first()
    if campaign is None:
        raise NotFound(_("Campaign not found."))
    case = case_lock(campaign.case_id)
    return Campaign.objects.select_related("checklist").get(pk=campaign_id), case


def _number_take(series: str, moment: datetime, *, agency) -> tuple[int, int, str]:
    """The agency's next number of `series` in the year of `moment`: numbers start at 01 each year (Nghị định
    30/2020/NĐ-CP), and each agency counts its own (the symbol part of a counter's key, for a new symbol)."""
    year = timezone.localtime(moment).year
    number = sequence_next(key=f"document:{agency.pk}:{series}:{agency.symbol}", year=year)
    return year, number, f"{number:02d}/{series}"

def _decimal(value, places: int, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        _invalid(field, _("A number is required."))
    if not number.is_finite():
        _invalid(field, _("A number is required."))
    try:
        return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    except InvalidOperation:  # more digits than the decimal context holds (1e30): far out of any range
        _invalid(field, _("The number is out of range."))
