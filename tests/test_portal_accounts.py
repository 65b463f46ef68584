"""Applicant accounts on the portal: register, verify the address from the e-mail the real SMTP server received,
sign in; no account enumeration; throttles; joining an existing organisation only on approval; officers refused.

Each test comes from its own client address and uses its own e-mail addresses: the throttles' counters live in the
shared cache (Redis), as in production."""

import random
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from applicants.models import ApplicantOrganisation, Registration, Representative
from cases import roles as r
from licensing.models import Notification

from .factories import UserFactory
from .support_smtp import outbox_mail_worker, smtp_server  # noqa: F401
from .test_api_fuzz_schemathesis import small_body_limits, wsgi_in_test_transaction  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_through_the_outbox(outbox_mail_worker):  # noqa: F811
    """Account e-mails are written to the outbox and sent after commit; smtp_server.wait_for does the worker's
    part (tests/support_smtp.py)."""


PASSWORD = "Giay-phep-in-2026!"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def new_client() -> Client:
    return Client(REMOTE_ADDR=f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}")


def unique(name: str) -> str:
    return f"{name}-{random.randrange(10**9)}@congty.example"


def tax_code() -> str:
    return f"{random.randrange(10**9, 10**10)}"


def registration_data(email: str, tax: str, **overrides) -> dict:
    data = {"organisation_name": "Công ty TNHH In Sao Mai", "organisation_kind": "print_facility", "tax_code": tax,
            "organisation_address": "12 Lê Lợi, Huế", "organisation_phone": "0234 3822 111",
            "organisation_email": "info@saomai.example", "full_name": "Trần Thị Mai", "position": "Giám đốc",
            "phone": "0905 123 456", "email": email, "password1": PASSWORD, "password2": PASSWORD}
    return {**data, **overrides}


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def register_and_verify(client, smtp, email, tax, **overrides) -> Registration:
    response = client.post("/portal/accounts/register/", registration_data(email, tax, **overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    message = smtp.wait_for(to=email)
    link = path_of(message.link("/portal/accounts/verify/"))
    assert client.get(link).status_code == 200  # the confirmation page
    response = client.post(link)
    assert response.status_code == 200
    return Registration.objects.get(user__email=email)


def sign_in(client, username, password=PASSWORD):
    return client.post("/portal/accounts/login/", {"username": username, "password": password})


def login_error_code(response) -> str:
    match = re.search(r'id="login-error" data-code="([^"]*)"', response.content.decode())
    return match.group(1) if match else ""


def test_register_verify_from_the_mail_server_then_sign_in_and_read_me(smtp_server):  # noqa: F811
    client, email, tax = new_client(), unique("mai"), tax_code()
    response = client.post("/portal/accounts/register/", registration_data(email, tax))
    assert response.status_code == 302 and response["Location"] == "/portal/accounts/register/sent/"
    registration = Registration.objects.get(user__email=email)
    assert registration.state == Registration.State.UNVERIFIED
    assert not ApplicantOrganisation.objects.filter(tax_code=tax).exists()  # nothing until the address is verified

    message = smtp_server.wait_for(to=email)
    link = message.link("/portal/accounts/verify/")
    # Before the link: no sign-in.
    refused = sign_in(client, email)
    assert refused.status_code == 200 and login_error_code(refused) == "unverified"
    assert "_auth_user_id" not in client.session

    # Opening the link (as a mail scanner or a link preview would) only asks for confirmation: nothing changes.
    for _ in range(2):
        response = client.get(path_of(link))
        assert response.status_code == 200 and 'data-outcome="confirm"' in response.content.decode()
        assert 'id="verify-confirm"' in response.content.decode() and email in response.content.decode()
    assert Registration.objects.get(pk=registration.pk).state == Registration.State.UNVERIFIED
    assert not ApplicantOrganisation.objects.filter(tax_code=tax).exists()
    assert login_error_code(sign_in(client, email)) == "unverified"
    assert client.put(path_of(link)).status_code == 405

    response = client.post(path_of(link))
    assert response.status_code == 200 and 'data-outcome="approved"' in response.content.decode()
    organisation = ApplicantOrganisation.objects.get(tax_code=tax)
    representative = Representative.objects.get(user__email=email)
    assert representative.organisation == organisation and representative.email_verified_at is not None
    assert organisation.name == "Công ty TNHH In Sao Mai" and organisation.kind == "print_facility"
    # The link works once.
    assert client.post(path_of(link)).status_code == 400
    assert client.get(path_of(link)).status_code == 400

    response = sign_in(client, email.upper())
    assert response.status_code == 302 and response["Location"] == "/portal/"
    me = client.get("/api/v1/portal/me/")
    assert me.status_code == 200
    assert me.json()["organisation"]["tax_code"] == tax and me.json()["email"] == email
    assert client.get("/portal/organisation/").status_code == 200
    # Signing out (POST) ends the session.
    assert client.post("/portal/accounts/logout/").status_code == 302
    assert client.get("/api/v1/portal/me/").status_code in (401, 403)


def test_tax_code_and_password_are_checked(smtp_server):  # noqa: F811
    client = new_client()
    for bad in ("12345", "123456789012", "0101234567-12", "01012345ab"):
        response = client.post("/portal/accounts/register/", registration_data(unique("x"), bad))
        assert response.status_code == 400 and 'data-errors="tax_code"' in response.content.decode(), bad
    response = client.post("/portal/accounts/register/", registration_data(unique("x"), "0101234567-001",
                                                                           password1="12345678",
                                                                           password2="12345678"))
    assert response.status_code == 400 and 'data-errors="password1"' in response.content.decode()
    branch = unique("branch")
    ok = client.post("/portal/accounts/register/", registration_data(branch, f"{tax_code()}-001"))
    assert ok.status_code == 302
    assert smtp_server.wait_for(to=branch)  # the branch's verification link


def _without_tokens(html: str) -> str:
    return CSRF.sub("", html)


def test_no_enumeration_on_register_and_reset(smtp_server):  # noqa: F811
    client, known = new_client(), unique("known")
    register_and_verify(client, smtp_server, known, tax_code())
    smtp_server.clear()

    # Register: an address in use and a new one get the same answer and the same page after it.
    unknown = unique("unknown")
    answers = []
    for email in (known, unknown):
        other = new_client()
        response = other.post("/portal/accounts/register/", registration_data(email, tax_code()))
        page = other.get(response["Location"])
        answers.append((response.status_code, response["Location"], page.status_code,
                        _without_tokens(page.content.decode())))
    assert answers[0] == answers[1]
    # The owner of the address in use is told someone tried; no account was made twice.
    warning = smtp_server.wait_for(to=known)
    assert "/portal/accounts/verify/" not in warning.text and "/portal/accounts/login/" in warning.text
    assert Registration.objects.filter(user__email=known).count() == 1
    smtp_server.wait_for(to=unknown)  # the new address got its verification link

    # Reset: the same answer whether the address has an account or not; only the account's owner gets a link.
    smtp_server.clear()
    answers = []
    for email in (known, unique("nobody")):
        other = new_client()
        form = other.get("/portal/accounts/password/reset/")
        response = other.post("/portal/accounts/password/reset/", {"email": email})
        page = other.get(response["Location"])
        answers.append((form.status_code, response.status_code, response["Location"], page.status_code,
                        _without_tokens(page.content.decode())))
    assert answers[0] == answers[1]
    # Neither request talked to the mail server (its time would tell an account apart): the link is written to
    # the outbox, and only for the account's owner.
    assert smtp_server.messages == []
    assert Notification.objects.filter(recipient=known, sent_at__isnull=True).count() == 1
    reset = smtp_server.wait_for(to=known)
    assert len(smtp_server.messages) == 1

    # The reset link works: a new password, and signing in with it.
    confirm = client.get(path_of(reset.link("/portal/accounts/password/reset/")), follow=True)
    assert 'data-valid="1"' in confirm.content.decode()
    new_password = "Mat-khau-moi-2026!"
    done = client.post(confirm.redirect_chain[-1][0], {"new_password1": new_password,
                                                         "new_password2": new_password})
    assert done.status_code == 302
    assert sign_in(new_client(), known, new_password)["Location"] == "/portal/"


def test_registration_reset_and_sign_in_are_throttled(smtp_server, settings):  # noqa: F811
    settings.PORTAL_ACCOUNT_ACTIONS_PER_ADDRESS = 2
    settings.PORTAL_ACCOUNT_ACTIONS_PER_IP = 4
    email = unique("busy")
    # Per address, from different client addresses.
    statuses = [new_client().post("/portal/accounts/register/", registration_data(email, tax_code())).status_code
                for _ in range(3)]
    assert statuses == [302, 302, 429]
    # Per client address, for different e-mail addresses.
    client = new_client()
    statuses = [client.post("/portal/accounts/password/reset/", {"email": unique("r")}).status_code
                for _ in range(5)]
    assert statuses == [302, 302, 302, 302, 429]
    refused = client.post("/portal/accounts/password/reset/", {"email": unique("r")})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0

    # Sign-in: the officers' throttle (cases/security.py) counts failures per address and client.
    client, email = new_client(), unique("guess")
    register_and_verify(client, smtp_server, email, tax_code())
    statuses = [sign_in(client, email, "wrong-password").status_code for _ in range(settings.LOGIN_FAILURES_PER_USER_AND_IP)]
    assert set(statuses) == {200}
    locked = sign_in(client, email)  # even the right password is refused for a while
    assert locked.status_code == 429 and "_auth_user_id" not in client.session


def test_a_second_representative_acts_only_once_approved(smtp_server):  # noqa: F811
    tax = tax_code()
    first_client, first = new_client(), unique("first")
    register_and_verify(first_client, smtp_server, first, tax)
    assert sign_in(first_client, first).status_code == 302

    second_client, second = new_client(), unique("second")
    registration = register_and_verify(second_client, smtp_server, second, tax,
                                       organisation_name="Tên khác", full_name="Lê Văn Hùng")
    assert registration.state == Registration.State.AWAITING_APPROVAL
    organisation = ApplicantOrganisation.objects.get(tax_code=tax)
    assert organisation.name == "Công ty TNHH In Sao Mai"  # the registrant does not rename the organisation
    assert not Representative.objects.filter(user__email=second).exists()
    refused = sign_in(second_client, second)
    assert login_error_code(refused) == "awaiting_approval" and "_auth_user_id" not in second_client.session
    # The first representative is told, and sees the request on the organisation's page.
    told = smtp_server.wait_for(to=first, count=2)  # after their own verification link
    assert told.link("/portal/organisation/")
    page = first_client.get("/portal/organisation/").content.decode()
    assert f'data-registration="{registration.pk}"' in page

    # Another organisation's representative cannot decide it.
    stranger_client, stranger = new_client(), unique("stranger")
    register_and_verify(stranger_client, smtp_server, stranger, tax_code())
    sign_in(stranger_client, stranger)
    assert stranger_client.post(f"/portal/organisation/registrations/{registration.pk}/decide/",
                                {"decision": "approve"}).status_code == 404
    assert f'data-registration="{registration.pk}"' not in stranger_client.get("/portal/organisation/").content.decode()
    # The applicant cannot approve themselves (they act for nobody yet).
    second_client.force_login(registration.user)
    assert second_client.post(f"/portal/organisation/registrations/{registration.pk}/decide/",
                              {"decision": "approve"}).status_code == 403
    second_client.logout()

    response = first_client.post(f"/portal/organisation/registrations/{registration.pk}/decide/",
                                 {"decision": "approve"})
    assert response.status_code == 302
    assert Representative.objects.get(user__email=second).organisation == organisation
    approved = smtp_server.wait_for(to=second, count=2)
    assert approved.link("/portal/accounts/login/")
    assert sign_in(second_client, second)["Location"] == "/portal/"
    assert second_client.get("/api/v1/portal/me/").json()["organisation"]["tax_code"] == tax
    page = first_client.get("/portal/organisation/").content.decode()
    assert f'data-representative="{second}"' in page


def test_a_refused_registration_closes_the_account(smtp_server):  # noqa: F811
    tax = tax_code()
    first_client, first = new_client(), unique("boss")
    register_and_verify(first_client, smtp_server, first, tax)
    sign_in(first_client, first)
    other_client, other = new_client(), unique("intruder")
    registration = register_and_verify(other_client, smtp_server, other, tax)
    first_client.post(f"/portal/organisation/registrations/{registration.pk}/decide/", {"decision": "refuse"})
    registration.refresh_from_db()
    assert registration.state == Registration.State.REFUSED and not registration.user.is_active
    assert not Representative.objects.filter(user__email=other).exists()
    assert sign_in(other_client, other).status_code == 200 and "_auth_user_id" not in other_client.session
    # Decided once: deciding again finds nothing.
    assert first_client.post(f"/portal/organisation/registrations/{registration.pk}/decide/",
                             {"decision": "approve"}).status_code == 404


@pytest.mark.parametrize("role", [r.LICENSING_OFFICER, r.DEPARTMENT_HEAD, r.ADMINISTRATOR])
def test_officers_are_sent_to_their_own_sign_in(role):
    officer = UserFactory(roles=[role])
    client = new_client()
    response = sign_in(client, officer.username, "pw-test-1234")
    assert response.status_code == 200 and login_error_code(response) == "staff"
    assert 'id="officers-login"' in response.content.decode() and "_auth_user_id" not in client.session
    # Signed in on the officers' page, the portal's pages and API are still closed to them.
    client.force_login(officer)
    assert client.get("/portal/organisation/").status_code == 403
    assert client.get("/api/v1/portal/me/").status_code == 403


def test_an_officer_with_a_representative_record_is_still_refused():
    officer = UserFactory(roles=[r.LICENSING_OFFICER])
    organisation = ApplicantOrganisation.objects.create(name="X", tax_code=tax_code(), address="Huế")
    Representative.objects.create(user=officer, organisation=organisation, full_name="X",
                                  email_verified_at=timezone.now())
    response = sign_in(new_client(), officer.username, "pw-test-1234")
    assert login_error_code(response) == "staff"


def test_the_portal_pages_are_served_with_the_sites_csp_and_the_portal_stylesheet():
    response = new_client().get("/portal/accounts/register/")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    html = response.content.decode()
    assert "/static/applicants/portal.css" in html and "style=" not in html and "<script" not in html
    assert 'id="portal-login"' in html


def test_portal_me_answers_as_the_schema_says_for_a_representative_an_officer_and_anonymous(
        users, wsgi_in_test_transaction, small_body_limits):  # noqa: F811
    """schemathesis (tests/test_api_fuzz_schemathesis.py's layers) on /api/v1/portal/me/: the representative gets
    a body matching the schema, the others the documented problems."""
    from rest_framework.authtoken.models import Token

    from .test_api_fuzz_schemathesis import api_schema, fuzz_operation  # its layers, not its tests

    email = unique("fuzz")
    organisation = ApplicantOrganisation.objects.create(name="Công ty Fuzz", tax_code=tax_code(), address="Huế")
    representative = Representative.objects.create(
        user=UserFactory(username=email, email=email), organisation=organisation, full_name="Phạm Thu",
        email_verified_at=timezone.now())
    operation = next(result.ok() for result in api_schema().get_all_operations()
                     if result.ok().label == "GET /api/v1/portal/me/")
    headers = {
        "representative": {"Authorization": f"Token {Token.objects.create(user=representative.user).key}"},
        "officer": {"Authorization": f"Token {Token.objects.get_or_create(user=users[r.LICENSING_OFFICER])[0].key}"},
        "anonymous": {},
    }
    problems = []
    for turn, (who, sent) in enumerate(headers.items()):
        problems += [f"[{who}] {line}" for line in fuzz_operation(operation, headers=sent, real={}, turn=turn,
                                                                  hostile=who != "anonymous")]
    assert not problems, "\n".join(problems[:20])
