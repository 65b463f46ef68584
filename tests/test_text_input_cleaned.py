"""Text is stored clean whichever door it comes in by (cases/text.py): the API, the officers' pages, the admin, and
services called from commands. A bulletin name pasted from Word with a vertical tab (Shift+Enter) is received,
approved, and its licence DOCX is written; decomposed Vietnamese is stored composed (NFC); a NUL is removed, never
a 500; a retried request with control characters still matches the case it stored."""

import io
import json
import unicodedata
import uuid
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from docx import Document
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from cases import services as case_services
from cases.api.parsers import CleanFormParser, CleanJSONParser
from cases.models import Case, CaseEvent, CaseType
from cases.text import text_clean
from licensing import services as licensing_services
from licensing.models import Organisation

from .factories import UserFactory
from .support_licensing import applicant, application_body, docx_lines, dossier, required_upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/licensing/applications/"
VT = "\x0b"  # what Word's Shift+Enter pastes
CLEAN_NAME = "Bản tin Đại học Thái Bình"
PASTED_NAME = f"Bản tin{VT}Đại học Thái Bình"


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --- The rule ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "multi", "single"), [
    (PASTED_NAME, "Bản tin\nĐại học Thái Bình", CLEAN_NAME),
    ("dòng một\r\ndòng hai\rdòng ba", "dòng một\ndòng hai\ndòng ba", "dòng một dòng hai dòng ba"),
    ("a\x0cb\x85c\u2028d\u2029e", "a\nb\nc\nd\ne", "a b c d e"),
    ("Số\x001\x07 Lý\x1bBôn\x7f\x9b", "Số1 LýBôn", "Số1 LýBôn"),
    ("Cột 1\tCột 2", "Cột 1\tCột 2", "Cột 1 Cột 2"),
    ("Tên  \n\t  mới", "Tên  \n\t  mới", "Tên mới"),
    ("\ud800lẻ\ufffe", "lẻ", "lẻ"),
])
def test_control_characters_become_line_breaks_spaces_or_nothing(raw, multi, single):
    assert text_clean(raw) == multi
    assert text_clean(raw, multiline=False) == single


def test_decomposed_vietnamese_is_composed():
    word = nfd("Trường Đại học Y Dược Thái Bình")
    assert len(word) > len("Trường Đại học Y Dược Thái Bình")
    assert text_clean(word) == "Trường Đại học Y Dược Thái Bình"


@given(st.text())
def test_cleaning_is_idempotent_and_leaves_nothing_xml_cannot_hold(raw):
    multi, single = text_clean(raw), text_clean(raw, multiline=False)
    assert text_clean(multi) == multi and text_clean(single, multiline=False) == single
    assert text_clean(single) == single  # a single-line value is already clean as multi-line text
    for value in (multi, single):
        assert not ILLEGAL_CHARACTERS_RE.search(value) and "\r" not in value
        assert unicodedata.is_normalized("NFC", value)
    assert "\n" not in single and "\t" not in single


def test_the_api_parsers_clean_every_string_of_a_body_but_passwords():
    body = json.dumps({"a": "x\x0by", "b": [{"c\x00": nfd("Trường")}], "password": "p\x0bw", "n": 2})
    parsed = CleanJSONParser().parse(io.BytesIO(body.encode()), parser_context={})
    assert parsed == {"a": "x\ny", "b": [{"c": "Trường"}], "password": "p\x0bw", "n": 2}
    form = CleanFormParser().parse(io.BytesIO(b"name=A%0BB&name=C%00D&password=p%0Bw"),
                                   parser_context={"encoding": "utf-8"})
    assert form.getlist("name") == ["A\nB", "CD"] and form["password"] == "p\x0bw"


# --- Through the API ----------------------------------------------------------------------------------------


def issue(case: Case, *, officer, head) -> bytes:
    """Required file, review, proposal, the head's approval, then the licence DOCX; its bytes."""
    kind, file = required_upload(case.case_type.code)
    case_services.attachment_add(case_id=case.pk, actor=officer, upload=file, kind=kind)
    for action, actor in (("start_review", officer), ("propose_grant", officer), ("approve", head)):
        case_services.case_transition(case_id=case.pk, actor=actor, action=action)
    document = licensing_services.result_issue(case_id=case.pk)
    with document.file.open("rb") as handle:
        return handle.read()


def test_a_pasted_bulletin_name_is_stored_clean_and_its_licence_is_written(api, officer, head):
    client = api.as_user(officer)
    fields = dossier("bulletin", bulletin_name=PASTED_NAME,
                     purpose="Thông tin hoạt động đào tạo;\r\nnghiên cứu khoa học\x0bcủa nhà trường\x00")
    body = application_body("bulletin", uuid=str(uuid.uuid4()), fields=fields,
                            organisation=applicant("bulletin", name=nfd(f"Trường{VT}Đại học Thái Bình")))
    first = client.post(URL, body, format="json")
    assert first.status_code == 201, first.content
    again = client.post(URL, body, format="json")  # the retry carries the same control characters
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"] and Case.objects.count() == 1

    case = Case.objects.select_related("dossier__organisation").get()
    assert case.dossier.fields["bulletin_name"] == CLEAN_NAME  # a name: one line
    assert case.dossier.fields["purpose"] == \
        "Thông tin hoạt động đào tạo;\nnghiên cứu khoa học\ncủa nhà trường"  # a text: its lines kept
    assert case.summary == CLEAN_NAME
    assert case.subject_name == case.dossier.organisation.name == "Trường Đại học Thái Bình"
    assert unicodedata.is_normalized("NFC", case.subject_name)

    lines = docx_lines(issue(case, officer=officer, head=head))
    assert any(CLEAN_NAME in line for line in lines)
    assert any("Trường Đại học Thái Bình" in line for line in lines)
    assert not any(VT in line or "\x00" in line for line in lines)


def test_a_retry_matches_its_stored_case_whichever_form_the_same_text_takes(api, officer):
    """Composed or decomposed, with a vertical tab or a space: the same dossier, stored once."""
    client = api.as_user(officer)
    request_id = str(uuid.uuid4())
    body = application_body("bulletin", uuid=request_id, fields=dossier("bulletin", bulletin_name=nfd(PASTED_NAME)),
                            organisation=applicant("bulletin", address=nfd("Xã Tân Bình,\x0bTP Thái Bình")))
    assert client.post(URL, body, format="json").status_code == 201
    retyped = application_body("bulletin", uuid=request_id, fields=dossier("bulletin", bulletin_name=CLEAN_NAME),
                               organisation=applicant("bulletin", address="Xã Tân Bình, TP Thái Bình"))
    assert client.post(URL, retyped, format="json").status_code == 200
    other = application_body("bulletin", uuid=request_id, fields=dossier("bulletin", bulletin_name="Bản tin khác"))
    assert client.post(URL, other, format="json").status_code == 409
    assert Case.objects.count() == 1 and Organisation.objects.count() == 1


def test_a_nul_in_a_json_body_is_removed_never_a_500(api, officer):
    client = api.as_user(officer)
    body = application_body("bulletin", fields=dossier("bulletin", bulletin_name="Bản tin\x00 số 1"),
                            summary="Trích\x00 yếu", organisation=applicant("bulletin", name="Trường\x00 ĐH"))
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.content
    case = Case.objects.select_related("dossier__organisation").get()
    assert (case.dossier.fields["bulletin_name"], case.summary, case.dossier.organisation.name) == \
        ("Bản tin số 1", "Trích yếu", "Trường ĐH")

    # a required text that is nothing but control characters is blank: a problem naming the field
    blank = client.post(URL, application_body("bulletin", fields=dossier("bulletin", publisher="\x00\x0b\x07")),
                        format="json")
    assert blank.status_code == 400 and blank["Content-Type"] == "application/problem+json"
    assert "publisher" in blank.json()["errors"]["fields"]

    note = client.post(f"/api/v1/cases/{case.pk}/notes/", {"text": "Đã gọi\x00 điện\r\nhẹn bổ sung\x0b"},
                       format="json")
    assert note.status_code == 201, note.content
    assert CaseEvent.objects.get(kind=CaseEvent.Kind.NOTE).note == "Đã gọi điện\nhẹn bổ sung"


def test_form_encoded_and_multipart_api_bodies_are_cleaned_too(api, officer):
    client = api.as_user(officer)
    url = "/api/v1/licensing/organisations/"
    for number, fmt in enumerate(("multipart", "form")):
        body = {"name": f"Trường{VT}Tiểu học\x00 số {number}", "kind": "school", "address": nfd("Xã Vũ Hội")}
        response = client.post(url, body, format="multipart") if fmt == "multipart" else \
            client.post(url, urlencode(body), content_type="application/x-www-form-urlencoded")
        assert response.status_code == 201, response.content
        assert response.json()["name"] == f"Trường Tiểu học số {number}"
        assert response.json()["address"] == "Xã Vũ Hội"
        assert unicodedata.is_normalized("NFC", Organisation.objects.get(pk=response.json()["id"]).address)


# --- Through the pages and the admin ------------------------------------------------------------------------


def test_the_receive_page_stores_a_pasted_name_clean_and_its_licence_is_written(client, officer, head):
    client.force_login(officer)
    form = {"uuid": "5d0c9f7e-3a55-4d7e-9f7b-2d1f0c4b8e21", "procedure": "bulletin",
            "org_name": f"Trường{VT}Đại học Thái Bình", "org_kind": "school", "org_email": "vanphong@dhtb.example.vn",
            "org_address": nfd("Xã Tân Bình, TP Thái Bình")}
    for name, value in dossier("bulletin", bulletin_name=PASTED_NAME,
                               purpose="Thông tin đào tạo\r\nvà nghiên cứu\x0bkhoa học").items():
        form[f"dossier_{name}"] = str(value)
    response = client.post(reverse("licensing:receive"), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.select_related("dossier__organisation").get()
    assert case.dossier.fields["bulletin_name"] == CLEAN_NAME
    assert case.dossier.fields["purpose"] == "Thông tin đào tạo\nvà nghiên cứu\nkhoa học"
    assert case.dossier.organisation.name == "Trường Đại học Thái Bình"
    assert case.dossier.organisation.address == "Xã Tân Bình, TP Thái Bình"
    assert unicodedata.is_normalized("NFC", case.dossier.organisation.address)
    assert client.post(reverse("licensing:receive"), form).status_code == 302  # the same form again: one case
    assert Case.objects.count() == 1

    data = issue(case, officer=officer, head=head)
    assert any(CLEAN_NAME in line for line in docx_lines(data))
    assert Document(io.BytesIO(data)).core_properties.subject == CLEAN_NAME


def test_the_admin_stores_clean_text(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    from agencies.models import Agency

    response = client.post(reverse("admin:licensing_organisation_add"), {
        "agency": Agency.objects.get(code="hung-yen-svhttdl").pk,  # every registry entry belongs to an agency
        "name": f"Công ty{VT}In Hoàng Long\x00", "kind": "company", "tax_code": "1001123456",
        "address": nfd("Lô C5,\r\nKCN Phúc Khánh"), "representative": "", "phone": "", "email": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    holder = Organisation.objects.get()
    assert (holder.name, holder.address) == ("Công ty In Hoàng Long", "Lô C5, KCN Phúc Khánh")


def test_a_password_is_taken_as_typed(client):
    from django import forms

    assert forms.CharField(widget=forms.PasswordInput, strip=False).clean(" p\x0bw ") == " p\x0bw "
    user = UserFactory(username="canbo9")
    user.set_password("mật khẩu\x0bcũ")
    user.save()
    response = client.post(reverse("login"), {"username": "canbo9", "password": "mật khẩu\x0bcũ"})
    assert response.status_code == 302


# --- Services called from commands and imports: the model layer ---------------------------------------------


def test_services_called_without_a_request_store_clean_text(officer):
    case, created = licensing_services.application_receive(
        actor=officer, procedure="bulletin", fields=dossier("bulletin", bulletin_name=PASTED_NAME),
        organisation=applicant("bulletin", name=f"Trường{VT}Đại học\x00 Thái Bình",
                               address=nfd("Xã Tân Bình")), uuid=uuid.UUID("1f7b3c2a-2f0e-4b8e-9a51-6f3c1d0e7a42"))
    assert created
    holder = Organisation.objects.get()
    assert (holder.name, holder.address) == ("Trường Đại học Thái Bình", "Xã Tân Bình")
    assert case.dossier.fields["bulletin_name"] == CLEAN_NAME

    bare, _created = case_services.case_create(
        actor=officer, case_type=CaseType.objects.get(code="bulletin"), subject_name=f"Cơ sở{VT}Minh Khai",
        summary="Trích yếu\r\nhai dòng", data={"ghi chú": ["dòng\x0bmột", {"k\x00": nfd("Thái Bình")}]})
    bare.refresh_from_db()
    assert (bare.subject_name, bare.summary) == ("Cơ sở Minh Khai", "Trích yếu hai dòng")
    assert bare.data == {"ghi chú": ["dòng\nmột", {"k": "Thái Bình"}]}
