"""Dates far outside the department's years on the pages: a readable message on the form, never a server error."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", [
    {"issued_to": "9999-12-31"},  # the day after overflows
    {"issued_from": "0001-01-01"},
    {"issued_from": "31/12/9999", "issued_to": "01/01/0001"},
])
def test_the_permits_registry_refuses_impossible_dates_with_a_message(client, officer, query):
    client.force_login(officer)
    response = client.get("/licensing/permits/", query)
    assert response.status_code == 200
    assert "Hãy nhập ngày trong khoảng từ năm 1970 đến năm 2100" in response.content.decode()


def test_the_permits_registry_still_filters_by_ordinary_dates(client, officer):
    client.force_login(officer)
    response = client.get("/licensing/permits/", {"issued_from": "2019-10-01", "issued_to": "2019-12-31"})
    assert response.status_code == 200
    assert "Hãy nhập ngày trong khoảng" not in response.content.decode()


@pytest.mark.parametrize("moment", ["9999-12-31T10:00", "0001-01-01T08:00"])
def test_the_receive_and_decision_forms_refuse_impossible_moments(moment):
    import uuid

    from licensing.forms import ReceiveForm, TransitionForm
    from licensing.procedures import PROCEDURES

    receive = ReceiveForm({"uuid": str(uuid.uuid4()), "procedure": "bulletin", "org_name": "Hội Nông dân tỉnh",
                           "org_kind": "other", "received_at": moment}, procedure=PROCEDURES["bulletin"])
    receive.is_valid()
    assert receive.errors["received_at"] == ["Hãy nhập ngày trong khoảng từ năm 1970 đến năm 2100."]
    apology = TransitionForm({"action": "apologise_late", "version": 3, "new_due_at": moment})
    assert not apology.is_valid()
    assert apology.errors["new_due_at"] == ["Hãy nhập ngày trong khoảng từ năm 1970 đến năm 2100."]
    assert TransitionForm({"action": "apologise_late", "version": 3, "new_due_at": "2026-12-01T10:00"}).is_valid()
