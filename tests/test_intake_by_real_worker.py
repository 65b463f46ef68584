import pytest

from cases.models import Case
from worker.models import OutboxMessage

from .conftest import wait_for
from .factories import case_make


@pytest.mark.django_db(transaction=True)
def test_worker_assigns_a_received_case_to_the_least_loaded_officer(celery_worker, officer, officer2, head):
    busy = case_make(actor=officer)  # officer gets the first case
    wait_for(lambda: Case.objects.get(pk=busy.pk).intake_completed_at, message="first intake")
    case = case_make(actor=officer, subject_name="Cơ sở in Minh Phát")
    wait_for(lambda: Case.objects.get(pk=case.pk).intake_completed_at, message="second intake")
    first, second = Case.objects.get(pk=busy.pk), Case.objects.get(pk=case.pk)
    assert {first.assignee_id, second.assignee_id} == {officer.pk, officer2.pk}
    assert second.events.filter(kind="intake").count() == 1
    # Every row queued on the way (intake, the figures' refreshes after the dossier's file) is run by the worker.
    wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(), message="the outbox to empty")
