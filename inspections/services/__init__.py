"""Writes of the inspections domain, by concern: registry, campaigns (and targets), fieldwork (findings and
photos), sanctions (outcomes, violation records, sanction decisions, follow-up), issuing (documents), and the
hooks into the case engine. Each service owns its transaction and writes the timeline inside it.

Every write on a campaign's targets, findings, photos and outcomes runs under the row lock of the campaign's
case (cases.services.case_lock): it serialises them with the workflow's transitions, so that nothing lands
in a campaign whose state has just moved on.
"""

from . import engine_hooks  # noqa: F401  registers the hooks
from ._common import (  # noqa: F401
    CLOCK_SKEW,
    DECISION_SERIES,
    DEVICE_CLOCK_SKEW,
    OUTCOME_STATES,
    PHOTO_STATES,
    PLANNING_STATES,
    SANCTION_SERIES,
    SANCTION_STATES,
    SANCTION_WORKING_DAYS,
    TEAM_ROLES,
    VIOLATION_SERIES,
)
from .campaigns import (  # noqa: F401
    TargetPlan,
    campaign_conclude,
    campaign_plan,
    campaign_team_set,
    campaign_transition,
    checklist_in_force,
    target_add,
    target_assign,
    target_remove,
)
from .fieldwork import (  # noqa: F401
    BatchResult,
    finding_content_stored,
    finding_submit,
    findings_batch_submit,
    photo_add,
    photo_thumbnail_make,
)
from .issuing import (  # noqa: F401
    conclusion_issue,
    decision_issue,
    sanction_decision_issue,
    violation_record_issue,
    visit_minutes_issue,
)
from .registry import (  # noqa: F401
    ESTABLISHMENT_FIELDS,
    establishment_create,
    establishment_delete,
    establishment_update,
)
from .review import REVIEW_DECISION_CHOICES, REVIEW_DECISIONS, finding_review  # noqa: F401
from .sanctions import (  # noqa: F401
    FINE_MAX_VND,
    follow_up_done,
    follow_up_record,
    sanction_decide,
    sanction_due_at,
    target_outcome_set,
    violation_offender_set,
    violation_record_write,
)
