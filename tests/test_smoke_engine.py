import pytest

from cases.models import CaseEvent

from .factories import case_make

pytestmark = pytest.mark.django_db


def test_officer_takes_a_printing_licence_to_issued(officer, head):
    case = case_make(actor=officer, path=("start_review", "propose_grant", "approve"), head=head)
    assert case.state == "approved"
    assert case.decided_at is not None
    kinds = list(case.events.values_list("kind", flat=True))
    assert kinds[0] == CaseEvent.Kind.CREATED
    assert kinds.count(CaseEvent.Kind.TRANSITION) == 3
