"""Helpers for the sanctions tests: a campaign in the field with one violation recorded on a given day."""

from inspections import services
from inspections.models import ViolationRecord

from .support_inspections import campaign_make, finding_body, items_of


def violation_made(api, lead, inspector, *, recorded_at=None) -> ViolationRecord:
    """A printing campaign announced and in the field, whose one target has a violation finding and its record
    (dated `recorded_at`, an aware datetime, or now)."""
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    licence_item = items_of(campaign)[0]  # "licence": no photo required
    target = campaign.targets.get()
    response = api.as_user(inspector).post("/api/v1/inspections/findings/", finding_body(
        target, licence_item, result="violation", note="Hoạt động in khi chưa đăng ký với Sở"), format="json")
    assert response.status_code == 201, response.content
    services.target_outcome_set(actor=inspector, target_id=target.pk, outcome="violation",
                                violation_description="Hoạt động cơ sở in khi chưa đăng ký với Sở.",
                                recorded_at=recorded_at)
    return ViolationRecord.objects.select_related("target__campaign__case", "sanction").get(target=target)
