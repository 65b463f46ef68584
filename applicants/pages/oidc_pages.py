"""The portal's pages around the identity provider: start, callback (applicants/oidc.py), and completing the
organisation's registration after a first sign-in."""

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache

from .. import accounts as services
from ..models import Registration
from ..oidc import PENDING, PortalOIDCCallbackView, PortalOIDCRequestView, pending_claims
from .account_forms import OidcCompletionForm

T = "applicants/accounts/"
BACKEND = "applicants.oidc.PortalOIDCBackend"


@never_cache
def oidc_complete(request):
    """After the provider: a new person registers their organisation (no password: they sign in through the
    provider); a registration already made says where it stands."""
    if not settings.PORTAL_OIDC_ENABLED:
        raise Http404
    pending = pending_claims(request)
    if pending is None:
        return render(request, T + "oidc_failed.html", status=400)
    if "registration" in pending:
        registration = Registration.objects.filter(pk=pending["registration"]).first()
        return render(request, T + "verify_result.html", {
            "outcome": "awaiting" if registration and registration.email_verified_at else "unverified",
            "registration": registration})
    form = OidcCompletionForm(request.POST or None,
                              initial={"full_name": pending.get("name", ""), "email": pending.get("email", "")})
    if request.method == "POST":
        throttled = services.account_action_throttle(request, "register", request.POST.get("email", ""))
        if throttled is not None:
            from .accounts import throttled_page

            return throttled_page(request, throttled)
        if form.is_valid():
            request.session.pop(PENDING, None)
            person = form.person()
            provider_verified = bool(pending.get("email_verified")
                                     and services.address_normalise(pending.get("email", "")) == person["email"])
            registration = services.registration_start(
                request, organisation=form.organisation(), person=person, password=None,
                oidc=(pending["issuer"], pending["subject"]), address_vouched=provider_verified)
            if registration is None or not provider_verified:
                return redirect("portal:register-sent")
            # The provider vouches for the address: no link to follow.
            registration = services.registration_verify(request, registration)
            if registration.state == Registration.State.APPROVED:
                login(request, registration.user, backend=BACKEND)
                return redirect("/portal/")
            return render(request, T + "verify_result.html", {"outcome": "awaiting", "registration": registration})
    return render(request, T + "oidc_complete.html", {"form": form,
                                                      "provider": settings.OIDC_PROVIDER_NAME},
                  status=400 if form.is_bound else 200)


urlpatterns = [
    path("accounts/oidc/start/", PortalOIDCRequestView.as_view(), name="oidc-start"),
    path("accounts/oidc/callback/", PortalOIDCCallbackView.as_view(), name="oidc-callback"),
    path("accounts/oidc/complete/", oidc_complete, name="oidc-complete"),
]
