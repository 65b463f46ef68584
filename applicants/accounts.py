"""Applicant accounts: registration, e-mail verification, joining an organisation on a representative's approval,
and the throttle of the account pages.

Rules:
- An account is made at registration but acts for nobody until its e-mail address is verified (a one-time,
  expiring link, `verification_token`). Then, for a tax code not registered yet, the organisation is made with the
  person as its first representative; for a tax code already registered, a representative of that organisation
  approves the person (or refuses): nobody attaches themselves to an organisation alone.
- No account enumeration: registering with an address already in use shows the same page as a new registration
  and sends the owner of the address a "someone tried to register with your address" e-mail instead.
- Registration, password reset and the resending of links are counted per client address and per e-mail address
  (PORTAL_ACCOUNT_ACTIONS_PER_IP / _PER_ADDRESS over PORTAL_ACCOUNT_WINDOW_SECONDS); sign-in failures are counted
  by cases/security.py as the officers' are.

Account e-mails go through Django's mail directly (no case, no outbox: a lost one is asked for again)."""

import hashlib
import logging
import math
import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from cases import roles as r
from config.ratelimit import client_ip, window_hit, window_retry_after
from licensing.notifications import notification_queue_without_case

from .models import ApplicantOrganisation, Registration, Representative

logger = logging.getLogger("sttt.security")

# Mã số thuế: 10 digits for an organisation, 10-3 for a branch or dependent unit (Thông tư 86/2024/TT-BTC).
TAX_CODE = re.compile(r"^\d{10}(-\d{3})?$")


def tax_code_valid(value: str) -> bool:
    return bool(TAX_CODE.fullmatch(value or ""))


def address_normalise(email: str) -> str:
    return (email or "").strip().lower()


# --- throttle -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Throttled:
    scope: str
    retry_after: int  # seconds

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))


def _key(action: str, scope: str, value: str) -> str:
    return f"portal-account:{action}:{scope}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def account_action_throttle(request, action: str, address: str) -> Throttled | None:
    """Count one `action` ("register", "reset", "resend") from this client for this e-mail address; the
    throttle that refuses it, if a counter is past its limit. Counted before anything is looked up, so that a
    refusal says nothing about the address."""
    window = int(settings.PORTAL_ACCOUNT_WINDOW_SECONDS)
    ip = client_ip(request)
    counters = [("ip", _key(action, "ip", ip), int(settings.PORTAL_ACCOUNT_ACTIONS_PER_IP)),
                ("address", _key(action, "address", address_normalise(address)),
                 int(settings.PORTAL_ACCOUNT_ACTIONS_PER_ADDRESS))]
    refused = None
    for scope, key, limit in counters:
        if window_hit(key, window) > limit and refused is None:
            refused = Throttled(scope, window_retry_after(key, window))
    if refused is not None:
        logger.warning("portal %s throttled: ip=%s scope=%s", action, ip, refused.scope,
                       extra={"client_ip": ip, "scope": refused.scope, "throttled": True, "channel": "portal"})
    return refused


# --- tokens and links -----------------------------------------------------------------------------------------


class EmailVerificationTokenGenerator(PasswordResetTokenGenerator):
    """A one-time link: it stops working once the address is verified (the state is in the hash) and after
    PASSWORD_RESET_TIMEOUT."""

    key_salt = "applicants.accounts.EmailVerificationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        registration = Registration.objects.filter(user=user).first()
        state = f"{registration.state}{registration.email_verified_at}" if registration else "none"
        return f"{user.pk}{user.email}{user.is_active}{state}{timestamp}"


verification_token = EmailVerificationTokenGenerator()


def verification_link(request, user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("portal:verify", kwargs={"uidb64": uid, "token": verification_token.make_token(user)})
    return request.build_absolute_uri(path)


def mail_queue(*, subject: str, body: str, to: str) -> None:
    """An account e-mail (verification, address in use, reset link, approval) goes through the outbox like every
    other e-mail (licensing/notifications.py): written here, sent by the worker after commit, at most once. The
    request never waits on the mail server, so how long a page takes does not tell whether an address has an
    account (a reset asked for an unknown address answers as fast as one for a known one, less one row written)."""
    with transaction.atomic():
        notification_queue_without_case(key=f"account:{uuid.uuid4()}", recipient=to, subject=subject.strip(),
                                        body=body)


def _mail(template: str, to: str, context: dict) -> None:
    subject = "".join(render_to_string(f"applicants/accounts/email/{template}_subject.txt", context).splitlines())
    body = render_to_string(f"applicants/accounts/email/{template}.txt", context)
    mail_queue(subject=subject, body=body, to=to)


# --- registration ---------------------------------------------------------------------------------------------


def address_in_use(email: str) -> bool:
    User = get_user_model()
    email = address_normalise(email)
    return User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).exists()


def registration_start(request, *, organisation: dict, person: dict, password: str | None,
                       oidc: tuple[str, str] | None = None, address_vouched: bool = False) -> Registration | None:
    """Register an account (the registration form, or completing one after signing in with the identity provider).

    organisation: name, kind, tax_code, address, phone, email; person: full_name, position, phone, email.
    With an address already in use nothing is made: its owner is told by e-mail someone tried (and, if that
    account is still unverified, given a new link). Otherwise the account is made and the verification link
    e-mailed (unless the identity provider vouched for the address: `address_vouched`, then the caller verifies
    it at once). Returns the new registration, or None. The caller shows the same page either way."""
    User = get_user_model()
    email = address_normalise(person["email"])
    if address_in_use(email):
        make_password(password)  # as long as a new registration takes
        existing = (User.objects.filter(Q(email__iexact=email) | Q(username__iexact=email))
                    .select_related("registration").first())
        registration = getattr(existing, "registration", None) if existing else None
        context = {"email": email, "login_url": request.build_absolute_uri(reverse("portal:login")),
                   "reset_url": request.build_absolute_uri(reverse("portal:password-reset")),
                   "verify_url": (verification_link(request, existing) if registration is not None
                                  and registration.state == Registration.State.UNVERIFIED else "")}
        _mail("address_in_use", email, context)
        logger.info("portal registration with an address in use", extra={"client_ip": client_ip(request)})
        return None
    with transaction.atomic():
        user = User(username=email[:150], email=email, first_name="", last_name=person["full_name"][:150])
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        registration = Registration.objects.create(
            user=user, organisation_name=organisation["name"], organisation_kind=organisation["kind"],
            tax_code=organisation["tax_code"], organisation_address=organisation["address"],
            organisation_phone=organisation.get("phone", ""), organisation_email=organisation.get("email", ""),
            full_name=person["full_name"], position=person.get("position", ""), phone=person.get("phone", ""),
            oidc_issuer=oidc[0] if oidc else "", oidc_subject=oidc[1] if oidc else "")
    if address_vouched:
        return registration
    _mail("verify", email, {"email": email, "full_name": registration.full_name,
                            "organisation_name": registration.organisation_name,
                            "verify_url": verification_link(request, user),
                            "hours": settings.PASSWORD_RESET_TIMEOUT // 3600})
    return registration


def verification_resend(request, email: str) -> None:
    """A new verification link for an account still unverified; nothing (and nothing said) otherwise."""
    registration = (Registration.objects.select_related("user")
                    .filter(user__email__iexact=address_normalise(email), user__is_active=True,
                            state=Registration.State.UNVERIFIED).first())
    if registration is None:
        return
    _mail("verify", registration.user.email, {
        "email": registration.user.email, "full_name": registration.full_name,
        "organisation_name": registration.organisation_name,
        "verify_url": verification_link(request, registration.user),
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600})


def _representative_make(registration: Registration, organisation: ApplicantOrganisation) -> Representative:
    return Representative.objects.create(
        user=registration.user, organisation=organisation, full_name=registration.full_name,
        position=registration.position, phone=registration.phone, email_verified_at=registration.email_verified_at,
        oidc_issuer=registration.oidc_issuer, oidc_subject=registration.oidc_subject)


def registration_verify(request, registration: Registration) -> Registration:
    """The address is verified: the organisation is made with this person as its first representative, or (its
    tax code already registered) the person waits for a representative's approval, who is told by e-mail."""
    with transaction.atomic():
        registration = Registration.objects.select_for_update().select_related("user").get(pk=registration.pk)
        if registration.state != Registration.State.UNVERIFIED:
            return registration
        registration.email_verified_at = timezone.now()
        organisation, created = ApplicantOrganisation.objects.get_or_create(
            tax_code=registration.tax_code,
            defaults={"name": registration.organisation_name, "kind": registration.organisation_kind,
                      "address": registration.organisation_address, "phone": registration.organisation_phone,
                      "email": registration.organisation_email})
        registration.organisation = organisation
        if created:
            registration.state = Registration.State.APPROVED
            registration.decided_at = registration.email_verified_at
            registration.save()
            _representative_make(registration, organisation)
            return registration
        registration.state = Registration.State.AWAITING_APPROVAL
        registration.save()
        approvers = list(Representative.objects.filter(organisation=organisation, email_verified_at__isnull=False,
                                                       user__is_active=True)
                         .values_list("user__email", flat=True))
    page = request.build_absolute_uri(reverse("portal:organisation"))
    for address in approvers:
        if address:
            _mail("approval_requested", address, {"registration": registration, "organisation": organisation,
                                                  "organisation_url": page})
    return registration


class NotAllowed(Exception):
    pass


def registration_decide(request, registration_id: int, *, representative: Representative,
                        approve: bool) -> Registration:
    """A representative approves (the person becomes a representative of the organisation) or refuses (the
    account is closed) a registration waiting on their organisation."""
    with transaction.atomic():
        registration = (Registration.objects.select_for_update().select_related("user")
                        .filter(pk=registration_id, organisation_id=representative.organisation_id,
                                state=Registration.State.AWAITING_APPROVAL).first())
        if registration is None:
            raise NotAllowed
        registration.decided_by = representative.user
        registration.decided_at = timezone.now()
        if approve:
            registration.state = Registration.State.APPROVED
            registration.save()
            _representative_make(registration, registration.organisation)
        else:
            registration.state = Registration.State.REFUSED
            registration.save()
            registration.user.is_active = False
            registration.user.save(update_fields=["is_active"])
    _mail("approved" if approve else "refused", registration.user.email, {
        "registration": registration, "organisation": registration.organisation, "decided_by": representative,
        "login_url": request.build_absolute_uri(reverse("portal:login"))})
    return registration


def account_status(user) -> str:
    """Why an account may or may not sign in at the portal: "representative", "staff", "unverified",
    "awaiting_approval", "refused" or "none"."""
    from .access import representative_for

    if r.user_roles(user) or user.is_staff or user.is_superuser:
        return "staff"
    if representative_for(user) is not None:
        return "representative"
    registration = Registration.objects.filter(user=user).first()
    if registration is None:
        return "none"
    return registration.state if registration.state != Registration.State.APPROVED else "none"


def registrations_awaiting(representative: Representative):
    return (Registration.objects.filter(organisation_id=representative.organisation_id,
                                        state=Registration.State.AWAITING_APPROVAL)
            .select_related("user").order_by("created_at"))
