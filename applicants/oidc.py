"""Sign-in through a national identity provider (OpenID Connect, "VNeID"-like), with mozilla-django-oidc.

On only when OIDC_RP_CLIENT_ID is set (config/settings/base.py). The library checks the id_token's signature
(RS256 against the provider's JWKS), its expiry and nonce, the state and PKCE; this backend also checks that the
token was issued to this client ("aud") by the configured issuer ("iss"), and that the userinfo is about the same
subject. A person is matched by (issuer, subject) to a representative, never by e-mail address: an address the
provider asserts does not attach anyone to an existing account. A person not known yet is not signed in: their
claims wait in the session (PENDING, for PENDING_MAX_AGE seconds) while they complete the organisation's
registration (applicants/pages/oidc_pages.py), as a registration with a password does."""

import time

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .accounts import account_status
from .models import Registration, Representative

PENDING = "portal_oidc_pending"
PENDING_MAX_AGE = 15 * 60


class PortalOIDCBackend(OIDCAuthenticationBackend):
    def verify_token(self, token, **kwargs):
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The id_token was not issued to this client.")
        issuer = getattr(settings, "OIDC_OP_ISSUER", "")
        if not payload.get("iss") or (issuer and payload["iss"] != issuer):
            raise SuspiciousOperation("The id_token comes from another issuer.")
        if not payload.get("sub"):
            raise SuspiciousOperation("The id_token names no subject.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        issuer, subject = payload["iss"], str(payload["sub"])
        representative = (Representative.objects.select_related("user")
                          .filter(oidc_issuer=issuer, oidc_subject=subject, user__is_active=True).first())
        if representative is not None:
            return representative.user
        session = self.request.session
        registration = (Registration.objects.filter(oidc_issuer=issuer, oidc_subject=subject, user__is_active=True)
                        .exclude(state=Registration.State.APPROVED).first())
        if registration is not None:
            session[PENDING] = {"registration": registration.pk, "at": time.time()}
            return None
        claims = self.get_userinfo(access_token, id_token, payload)
        if str(claims.get("sub", subject)) != subject:
            raise SuspiciousOperation("The userinfo is about another subject.")
        session[PENDING] = {
            "issuer": issuer, "subject": subject, "at": time.time(),
            "email": str(claims.get("email") or payload.get("email") or "")[:150],
            "email_verified": bool(claims.get("email_verified", payload.get("email_verified", False))),
            "name": str(claims.get("name") or payload.get("name") or "")[:200],
        }
        return None


def pending_claims(request) -> dict | None:
    pending = request.session.get(PENDING)
    if not pending or time.time() - float(pending.get("at", 0)) > PENDING_MAX_AGE:
        return None
    return pending


class _Enabled:
    def dispatch(self, request, *args, **kwargs):
        if not settings.PORTAL_OIDC_ENABLED:
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class PortalOIDCRequestView(_Enabled, OIDCAuthenticationRequestView):
    """Off to the provider's authorization endpoint (state, nonce and PKCE kept in the session)."""


class PortalOIDCCallbackView(_Enabled, OIDCAuthenticationCallbackView):
    """Back from the provider: a representative is signed in and lands on /portal/; anyone else goes to the
    completion page (a new person, a registration waiting, or a failure it explains)."""

    @property
    def success_url(self):
        target = self.request.session.get("oidc_login_next") or ""
        return target if target.startswith("/portal/") else "/portal/"

    def login_success(self):
        if account_status(self.user) != "representative":
            return HttpResponseRedirect(self.failure_url)
        return super().login_success()
