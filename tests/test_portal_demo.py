"""demo/portal.py on a small world: the two applicant accounts, and their online dossiers in every state, made
through the services, once."""

import pytest
from django.contrib.auth import authenticate

from applicants import dossiers as d
from applicants.access import representative_for
from applicants.models import Rating, Submission
from demo.accounts import DEMO_PASSWORD
from demo.portal import portal_demo_load

pytestmark = pytest.mark.django_db


def test_the_portal_demo_has_both_accounts_and_a_dossier_in_every_state(officer, head):
    made = portal_demo_load(officer=officer, head=head)
    assert made >= 10
    states = {}
    for username, tax_code in (("doanhnghiep1", "1000123456"), ("doanhnghiep2", "1001045872")):
        user = authenticate(username=username, password=DEMO_PASSWORD)
        assert user is not None
        representative = representative_for(user)
        assert representative is not None and representative.organisation.tax_code == tax_code
        for submission in d.dossiers_of(user):
            states.setdefault(d.state_code(submission), []).append(username)
    assert {"draft", "submitted", "completion_requested", "not_received", "in_progress", "supplement", "result",
            "refused", "late_apologised"} <= set(states)
    assert "doanhnghiep2" in states["result"] and "doanhnghiep1" in states["supplement"]
    ratings = {rating.score for rating in Rating.objects.all()}
    assert {2, 5} <= ratings
    # The documents addressed to them: the result, the refusal letter, the apology letter.
    kinds = set()
    for submission in Submission.objects.filter(case__isnull=False):
        kinds |= {document.kind for document in d.documents_public(submission.case)}
    assert {"refusal", "apology"} <= kinds and kinds & {"permit", "approval"}
    # Online cases are e-mailed to the representative.
    case = Submission.objects.filter(case__isnull=False, created_by__username="doanhnghiep1").first().case
    assert case.contact_email == "doanhnghiep1@inhoanglong.example.vn"
    # Once.
    count = Submission.objects.count()
    assert portal_demo_load(officer=officer, head=head) == 0 and Submission.objects.count() == count
