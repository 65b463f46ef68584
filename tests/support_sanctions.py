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


def provision_make(*, type_code: str = "printing", key: str = "test-printing-licence", article: int = 25,
                   clause: int = 2, point: str = "a", fine_min_vnd: int = 5_000_000, fine_max_vnd: int = 10_000_000,
                   remedial: str = "Buộc nộp lại số lợi bất hợp pháp có được do thực hiện hành vi vi phạm.",
                   valid_from=None):
    """A test row of NĐ 119/2020 (fines stated for individuals; an organisation's range is double) in force for
    `type_code` from `valid_from` (the decree's effective date by default). Not legal content: the shipped catalogue
    has no printing provision yet, and the pages' tests need one in force today."""
    from inspections.models import SanctionDecree, SanctionProvision

    decree = SanctionDecree.objects.get(code="ND119/2020")
    return SanctionProvision.objects.create(
        decree=decree, key=key, article=article, clause=clause, point=point,
        text="Hoạt động in khi chưa đăng ký hoạt động cơ sở in (dòng thử nghiệm).", fine_min_vnd=fine_min_vnd,
        fine_max_vnd=fine_max_vnd, remedial_measures=remedial, inspection_types=[type_code],
        valid_from=valid_from or decree.effective_from)


def outbox_deliver(task_name: str) -> int:
    """Run, here and now, the outbox's messages of `task_name` not done yet (as the worker would); their count."""
    from worker.celery import app
    from worker.models import OutboxMessage

    messages = list(OutboxMessage.objects.filter(task_name=task_name, done_at__isnull=True).order_by("pk"))
    for message in messages:
        app.tasks[task_name].apply(kwargs={**message.kwargs, "outbox_id": message.pk})
    return len(messages)
