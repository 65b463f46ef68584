"""Object-level access on EVERY page of the portal (/portal/), every officers' online page (/online/) and every
endpoint of /api/v1/portal/, between two applicants of different organisations, and for department staff and
anonymous users (issue 16: "Applicants see only their own organisation's dossiers, at every endpoint and page").

The routes are read from the URL resolver at test time: a new page or endpoint is covered without editing this file,
and one whose parameter this file cannot fill, or a public page not listed in PUBLIC, fails the test until it is
described here. Each route that names an object is requested with the print company's objects (A):
* by the university's representative (B): never a success, never a redirect into it, never A's data (404, or 403/405
  before the object is read), with GET and with POST (a write), and nothing of A's changes;
* by A: the page or endpoint answers (the parameters name real objects: B's 404 means something);
* by a licensing officer: refused on the applicants' routes (a department account is never an applicant);
* anonymously: sent to sign in (pages) or 401 (API)."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from applicants import slips
from applicants import submissions as portal
from applicants.models import Rating, Registration, ResultDelivery, Submission
from cases.models import Attachment, Case
from cases.workflow import State

from . import support_licensing as sl
from .factories import UserFactory
from .support_portal_follow import issued, online_received, representative_make, submitted

pytestmark = pytest.mark.django_db

# Pages anyone may open, signed in or not (accounts, the public lookup): no object of an organisation behind them.
PUBLIC = {"portal:login", "portal:logout", "portal:register", "portal:register-sent", "portal:verify-resend",
          "portal:verify", "portal:password-reset", "portal:password-reset-done", "portal:password-reset-confirm",
          "portal:password-reset-complete", "portal:oidc-start", "portal:oidc-callback", "portal:oidc-complete",
          "portal:lookup"}
# Path parameters that name an object of an organisation (the others are tokens or words).
OBJECT_PARAMETERS = {"uuid", "file_uuid", "document_id", "registration_id", "pk", "id"}


def routes() -> list[dict]:
    """Every route under /portal/, /online/ and /api/v1/portal/: its path template, name and methods."""
    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                space = namespace
                if pattern.namespace:
                    space = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, prefix + str(pattern.pattern), space)
            elif isinstance(pattern, URLPattern):
                route = (prefix + str(pattern.pattern)).replace("^", "").replace("$", "").replace("\\Z", "")
                if not route.startswith(("portal/", "online/", "api/v1/portal/")) or "format" in route:
                    continue
                name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name or ""
                found.append({"route": route, "name": name, "api": route.startswith("api/"),
                              "office": route.startswith(("online/", "api/v1/portal/office/")),
                              "methods": _methods(pattern.callback),
                              "parameters": re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)})
    walk(get_resolver().url_patterns, "", "")
    for item in found:
        item["parameters"] = [a or b for a, b in item["parameters"]]
    return found


def _methods(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions:
        return {method.upper() for method in actions if method != "head"}
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return {"GET", "POST"}  # a function view: both are tried (it answers 405 to the one it does not take)
    return {m.upper() for m in view_class.http_method_names if m not in {"options", "head", "trace"}
            and hasattr(view_class, m)}


class World:
    """The print company (A) with a dossier in each place a route may name, and the university (B)."""

    def __init__(self, officer, head):
        self.a = representative_make("print")
        self.b = representative_make("school")
        self.officer = officer
        self.received = online_received(self.a, officer, path=("start_review", "propose_grant", "approve"),
                                        head=head)
        self.document = issued(self.received)
        self.supplement = online_received(self.a, officer, path=("start_review", "request_supplement"))
        self.waiting = submitted(self.a)  # for the officers' routes
        refused = submitted(self.a)
        portal.submission_refuse(actor=officer, submission_uuid=refused.uuid, version=refused.version,
                                 reasons="Thủ tục không thuộc thẩm quyền của Sở.")
        self.refused = slips.refusal_slip_render(submission_id=refused.pk)  # its slip, not yet signed
        self.draft, _ = portal.submission_create(representative=self.a.representative, procedure="printing_licence")
        kind, upload = sl.required_upload("printing_licence")
        self.draft_file, _ = portal.file_add(representative=self.a.representative, submission_uuid=self.draft.uuid,
                                             upload=upload, kind=kind)
        joiner = UserFactory(roles=[], agencies=[])
        self.registration = Registration.objects.create(
            user=joiner, state=Registration.State.AWAITING_APPROVAL, organisation=self.a.representative.organisation,
            organisation_name=self.a.representative.organisation.name, tax_code="1001123456",
            organisation_address="Lô C5, KCN Phúc Khánh", full_name="Ông Vũ Văn Tâm", email_verified_at=timezone.now())
        # What B must never see of A's.
        self.secrets = [str(s.uuid) for s in (self.received, self.supplement, self.waiting, self.draft,
                                              self.refused)] + [
            self.received.case.reference, self.supplement.case.reference, str(self.draft_file.uuid)]

    def url(self, item: dict) -> str:
        values = {}
        route = item["route"]
        for name in item["parameters"]:
            if name == "uuid":
                if item["office"]:
                    values[name] = self.waiting.uuid
                elif "drafts" in route or ("submissions" in route and "dossiers" not in route):
                    values[name] = self.draft.uuid
                elif "supplement" in route:
                    values[name] = self.supplement.uuid
                elif "refusal-slip" in route:
                    values[name] = self.refused.uuid
                else:
                    values[name] = self.received.uuid
            elif name == "file_uuid":
                values[name] = (self.waiting.files.first().uuid if item["office"] else self.draft_file.uuid)
            elif name == "document_id":
                values[name] = self.document.pk
            elif name == "registration_id":
                values[name] = self.registration.pk
            elif name == "answer":
                values[name] = "receive"
            elif name in {"uidb64", "token"}:
                values[name] = "MQ" if name == "uidb64" else "set-password"
            else:
                raise AssertionError(f"test_portal_access: no value for the parameter {name!r} of {route}: "
                                     "describe it in World.url")
        url = "/" + route
        for name, value in values.items():
            url = re.sub(rf"<(?:\w+:)?{name}>|\(\?P<{name}>[^)]*\)", str(value), url)
        return url

    def leaked(self, body: str, url: str) -> list[str]:
        """A's identifiers in a response, but those the request itself named (a problem's `instance` repeats the
        address asked for)."""
        return [secret for secret in self.secrets if secret in body and secret not in url]


@pytest.fixture
def world(officer, head):
    return World(officer, head)


def client_for(user, api: bool):
    client = APIClient(enforce_csrf_checks=False)
    if user is not None:
        if api:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        else:
            client.force_login(user)
    return client


def send(client, method: str, url: str):
    response = getattr(client, method.lower())(url, {}, format="multipart") if method != "GET" else client.get(url)
    body = b"".join(response.streaming_content) if hasattr(response, "streaming_content") else response.content
    return response, body.decode(errors="replace")


def test_the_routes_are_found():
    names = {item["name"] for item in routes()}
    assert {"portal:home", "portal:dossier", "portal:document", "portal:supplement", "portal:rate",
            "portal:lookup"} <= names
    assert any(item["route"].startswith("api/v1/portal/dossiers/") for item in routes())


def test_another_organisations_representative_reaches_nothing_of_theirs(world):
    wrong = []
    object_routes = [item for item in routes() if set(item["parameters"]) & OBJECT_PARAMETERS]
    assert len(object_routes) >= 10
    state_before = {s.pk: Case.objects.get(pk=s.case_id).state for s in (world.received, world.supplement)}
    attachments_before = Attachment.objects.count()
    for item in object_routes:
        url = world.url(item)
        client = client_for(world.b, item["api"])
        for method in sorted(item["methods"] | {"GET"} if not item["api"] else item["methods"]):
            response, body = send(client, method, url)
            leaked = world.leaked(body, url)
            if response.status_code not in {403, 404, 405} or leaked:
                wrong.append(f"{method} {url} ({item['name']}): {response.status_code} {leaked}")
    assert not wrong, "B reached A's objects:\n" + "\n".join(wrong)
    for submission in (world.received, world.supplement):
        assert Case.objects.get(pk=submission.case_id).state == state_before[submission.pk]
    assert Attachment.objects.count() == attachments_before
    assert not Rating.objects.exists() and not ResultDelivery.objects.exists()
    world.draft.refresh_from_db()
    assert world.draft.state == Submission.State.DRAFT
    world.registration.refresh_from_db()
    assert world.registration.state == Registration.State.AWAITING_APPROVAL


def test_the_owner_reaches_each_object_route(world):
    """A's own requests answer: the parameters name real objects, so B's refusals above are about access."""
    wrong = []
    for item in routes():
        if item["office"] or not set(item["parameters"]) & OBJECT_PARAMETERS:
            continue
        url = world.url(item)
        client = client_for(world.a, item["api"])
        method = "GET" if "GET" in item["methods"] else sorted(item["methods"])[0]
        if method != "GET":
            continue  # a write by the owner is each feature's own test
        response, _body = send(client, method, url)
        if response.status_code not in {200, 302, 405}:
            wrong.append(f"GET {url} ({item['name']}): {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert ResultDelivery.objects.filter(document=world.document, user=world.a).count() == 1


def test_department_staff_and_anonymous_users_are_not_applicants(world):
    wrong = []
    staff = UserFactory(roles=["licensing_officer"])
    for item in routes():
        if item["name"] in PUBLIC:
            continue
        url = world.url(item)
        methods = item["methods"] if item["api"] else {"GET", "POST"}
        for method in sorted(methods):
            anonymous, _ = send(client_for(None, item["api"]), method, url)
            if item["api"]:
                ok = anonymous.status_code == 401
            else:
                ok = anonymous.status_code in {302, 405} and (
                    anonymous.status_code == 405 or "login" in anonymous["Location"])
            if not ok:
                wrong.append(f"anonymous {method} {url} ({item['name']}): {anonymous.status_code}")
            if item["office"]:
                # The officers' side: an applicant is refused there.
                refused, body = send(client_for(world.b, item["api"]), method, url)
                if refused.status_code not in {403, 404, 405} or world.leaked(body, url):
                    wrong.append(f"applicant {method} {url} ({item['name']}): {refused.status_code}")
                continue
            response, body = send(client_for(staff, item["api"]), method, url)
            if response.status_code not in {403, 405} or world.leaked(body, url):
                wrong.append(f"officer {method} {url} ({item['name']}): {response.status_code}")
    assert not wrong, "\n".join(wrong)
    assert Case.objects.get(pk=world.supplement.case_id).state == State.SUPPLEMENT_REQUESTED


def test_an_unverified_account_of_the_organisation_is_not_its_representative(world, client):
    pending = representative_make("print", verified=False)
    client.force_login(pending)
    assert client.get(f"/portal/dossiers/{world.received.uuid}/").status_code == 403
    api = client_for(pending, True)
    assert api.get(f"/api/v1/portal/dossiers/{world.received.uuid}/").status_code == 403
