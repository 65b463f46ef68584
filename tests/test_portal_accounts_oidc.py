"""Sign-in through the identity provider (OpenID Connect), against a local provider served by a thread.

The provider is real HTTP: an authorization endpoint that approves its test user at once, a token endpoint that
checks the client's secret, the code and its PKCE verifier and issues an id_token signed RS256 with a key made
here, a JWKS endpoint and a userinfo endpoint. mozilla-django-oidc talks to it and checks the signature itself;
nothing in the library is mocked."""

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from applicants.models import ApplicantOrganisation, Registration, Representative

from .support_smtp import outbox_mail_worker, smtp_server  # noqa: F401
from .test_portal_accounts import new_client, register_and_verify, tax_code, unique

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_through_the_outbox(outbox_mail_worker):  # noqa: F811
    """Account e-mails are written to the outbox and sent after commit; smtp_server.wait_for does the worker's
    part (tests/support_smtp.py)."""


CLIENT_ID, CLIENT_SECRET = "sttt-portal", "client-secret-for-tests"


class Provider:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing_key = self.key  # a test may sign with another key than the one published
        self.kid = "test-key-1"
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.user = {"sub": "079201000001", "email": "", "email_verified": True, "name": "Nguyễn Văn An"}
        self.audience = CLIENT_ID
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def jwks(self) -> dict:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/authorize":
                    assert query["client_id"] == CLIENT_ID and query["response_type"] == "code"
                    code = secrets.token_urlsafe(16)
                    provider.codes[code] = {**query, "user": dict(provider.user)}
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?"
                                                 + urlencode({"code": code, "state": query["state"]}))
                    self.end_headers()
                elif url.path == "/jwks":
                    self._json(200, provider.jwks())
                elif url.path == "/userinfo":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if token not in provider.tokens:
                        return self._json(401, {"error": "invalid_token"})
                    self._json(200, provider.tokens[token])
                else:
                    self._json(404, {})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path != "/token":
                    return self._json(404, {})
                if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
                    return self._json(401, {"error": "invalid_client"})
                grant = provider.codes.pop(form.get("code", ""), None)
                if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
                    return self._json(400, {"error": "invalid_grant"})
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
                if grant.get("code_challenge") != challenge.decode():
                    return self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                now = int(time.time())
                user = grant["user"]
                id_token = jwt.encode({"iss": provider.issuer, "sub": user["sub"], "aud": provider.audience,
                                       "iat": now, "exp": now + 300, "nonce": grant.get("nonce"),
                                       "email": user["email"]},
                                      provider.signing_key, algorithm="RS256", headers={"kid": provider.kid})
                access_token = secrets.token_urlsafe(24)
                provider.tokens[access_token] = user
                self._json(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                                 "id_token": id_token})

        return Handler


@pytest.fixture
def provider(settings):
    provider = Provider()
    provider.thread.start()
    settings.PORTAL_OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_ISSUER = provider.issuer
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.issuer}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.issuer}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider.issuer}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider.issuer}/jwks"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "applicants.oidc.PortalOIDCBackend"]
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.server.server_close()


def through_provider(client):
    """Start at the portal, let the provider approve, come back: the portal's answer to the callback."""
    import requests

    start = client.get("/portal/accounts/oidc/start/")
    assert start.status_code == 302
    approved = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    callback = urlsplit(approved.headers["Location"])
    assert callback.path == "/portal/accounts/oidc/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def organisation_form(email: str, tax: str) -> dict:
    return {"organisation_name": "Trường Đại học Khoa học", "organisation_kind": "school", "tax_code": tax,
            "organisation_address": "77 Nguyễn Huệ, Huế", "organisation_phone": "", "organisation_email": "",
            "full_name": "Nguyễn Văn An", "position": "Chánh văn phòng", "phone": "", "email": email}


def test_a_new_person_completes_the_registration_then_signs_in_through_the_provider(provider):
    provider.user["email"] = email = unique("an")
    client = new_client()
    response = through_provider(client)
    assert response.status_code == 302 and response["Location"] == "/portal/accounts/oidc/complete/"
    assert "_auth_user_id" not in client.session  # not signed in before the organisation is registered
    page = client.get("/portal/accounts/oidc/complete/")
    assert page.status_code == 200 and email in page.content.decode()

    tax = tax_code()
    response = client.post("/portal/accounts/oidc/complete/", organisation_form(email, tax))
    assert response.status_code == 302 and response["Location"] == "/portal/"
    representative = Representative.objects.get(user__email=email)
    assert (representative.oidc_issuer, representative.oidc_subject) == (provider.issuer, "079201000001")
    assert representative.organisation.tax_code == tax and representative.email_verified_at is not None
    assert not representative.user.has_usable_password()
    me = client.get("/api/v1/portal/me/").json()
    assert me["signs_in_with_identity_provider"] is True and me["organisation"]["tax_code"] == tax

    # The next time: signed in at once, matched by issuer and subject (the provider's e-mail may have changed).
    provider.user["email"] = unique("changed")
    again = new_client()
    response = through_provider(again)
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert int(again.session["_auth_user_id"]) == representative.user_id


def test_a_token_not_signed_by_the_providers_published_key_is_refused(provider):
    provider.user["email"] = unique("forged")
    provider.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client = new_client()
    response = through_provider(client)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session and "portal_oidc_pending" not in client.session


def test_a_token_issued_to_another_client_is_refused(provider):
    provider.user["email"] = unique("other-client")
    provider.audience = "another-service"
    client = new_client()
    assert through_provider(client).status_code == 400
    assert "portal_oidc_pending" not in client.session
    assert client.get("/portal/accounts/oidc/complete/").status_code == 400


def test_the_provider_never_attaches_anyone_to_an_existing_account_or_organisation(provider, smtp_server):  # noqa: F811
    # A password account, and its organisation.
    owner_client, owner = new_client(), unique("owner")
    tax = tax_code()
    register_and_verify(owner_client, smtp_server, owner, tax)
    smtp_server.clear()

    # A provider account with the same e-mail address is not signed in as that account...
    provider.user.update(sub="079201000099", email=owner)
    client = new_client()
    assert through_provider(client)["Location"] == "/portal/accounts/oidc/complete/"
    response = client.post("/portal/accounts/oidc/complete/", organisation_form(owner, tax_code()))
    assert response["Location"] == "/portal/accounts/register/sent/"  # as for any address in use
    assert "_auth_user_id" not in client.session
    smtp_server.wait_for(to=owner)  # the owner is told someone tried
    assert Representative.objects.filter(user__email=owner).count() == 1

    # ...and with the organisation's tax code it waits for a representative's approval.
    provider.user.update(sub="079201000100", email=unique("colleague"))
    client = new_client()
    through_provider(client)
    response = client.post("/portal/accounts/oidc/complete/", organisation_form(provider.user["email"], tax))
    assert response.status_code == 200 and 'data-outcome="awaiting"' in response.content.decode()
    assert "_auth_user_id" not in client.session
    registration = Registration.objects.get(oidc_subject="079201000100")
    assert registration.state == Registration.State.AWAITING_APPROVAL
    assert registration.organisation == ApplicantOrganisation.objects.get(tax_code=tax)
    # Coming back through the provider before the approval: still waiting, still not signed in.
    again = new_client()
    assert through_provider(again)["Location"] == "/portal/accounts/oidc/complete/"
    assert 'data-outcome="awaiting"' in again.get("/portal/accounts/oidc/complete/").content.decode()
    assert "_auth_user_id" not in again.session


def test_without_a_configured_provider_the_pages_do_not_exist(settings):
    settings.PORTAL_OIDC_ENABLED = False
    client = new_client()
    assert client.get("/portal/accounts/oidc/start/").status_code == 404
    assert client.get("/portal/accounts/oidc/callback/?code=x&state=y").status_code == 404
    assert client.get("/portal/accounts/oidc/complete/").status_code == 404
    assert 'id="oidc-start"' not in client.get("/portal/accounts/login/").content.decode()
