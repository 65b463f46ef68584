"""The portal's account pages (/portal/accounts/, /portal/organisation/): register, verify the e-mail address,
sign in and out, reset a password, sign in through the identity provider, and the organisation's page where its
representatives approve colleagues. Rules in applicants/accounts.py; throttled there and in cases/security.py."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from cases.login import ThrottledLoginView

from .. import accounts as services
from ..access import applicant_required
from ..models import Registration
from . import oidc_pages
from .account_forms import AddressForm, PortalAuthenticationForm, PortalPasswordResetForm, RegistrationForm

T = "applicants/accounts/"


def throttled_page(request, throttled: services.Throttled):
    response = render(request, T + "throttled.html", {"minutes": throttled.minutes}, status=429)
    response["Retry-After"] = str(throttled.retry_after)
    return response


@never_cache
def register(request):
    if request.user.is_authenticated and services.account_status(request.user) == "representative":
        return redirect("/portal/")
    form = RegistrationForm(request.POST or None)
    if request.method == "POST":
        throttled = services.account_action_throttle(request, "register", request.POST.get("email", ""))
        if throttled is not None:
            return throttled_page(request, throttled)
        if form.is_valid():
            services.registration_start(request, organisation=form.organisation(), person=form.person(),
                                        password=form.cleaned_data["password1"])
            # The same page whether the address was new or in use (no account enumeration).
            return redirect("portal:register-sent")
    return render(request, T + "register.html", {"form": form, "oidc_enabled": settings.PORTAL_OIDC_ENABLED},
                  status=400 if form.is_bound else 200)


@never_cache
def register_sent(request):
    return render(request, T + "register_sent.html")


def _user_from_uid(uidb64: str):
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (TypeError, ValueError, OverflowError):
        return None
    return get_user_model().objects.filter(pk=pk, is_active=True).first()


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def verify(request, uidb64: str, token: str):
    """The e-mail's link: GET checks it and asks the person to confirm; only the confirmation (a POST) verifies.

    Mail scanners and link previews open every link in a message: had GET verified, an address would be
    verified (and, for an organisation's first registrant, an organisation created) without anyone who reads
    that mailbox having acted, and the link would already be spent when its owner clicked it."""
    user = _user_from_uid(uidb64)
    registration = Registration.objects.filter(user=user).first() if user is not None else None
    if registration is None or not services.verification_token.check_token(user, token):
        return render(request, T + "verify_result.html", {"outcome": "invalid"}, status=400)
    if request.method != "POST":
        return render(request, T + "verify_result.html", {"outcome": "confirm", "registration": registration})
    registration = services.registration_verify(request, registration)
    outcome = "approved" if registration.state == Registration.State.APPROVED else "awaiting"
    return render(request, T + "verify_result.html", {"outcome": outcome, "registration": registration})


@never_cache
def verify_resend(request):
    form = AddressForm(request.POST or None)
    if request.method == "POST":
        throttled = services.account_action_throttle(request, "resend", request.POST.get("email", ""))
        if throttled is not None:
            return throttled_page(request, throttled)
        if form.is_valid():
            services.verification_resend(request, form.cleaned_data["email"])
            return redirect("portal:register-sent")
    return render(request, T + "resend.html", {"form": form})


class PortalLoginView(ThrottledLoginView):
    """The officers' throttled sign-in (cases/login.py), for the portal's accounts: a representative lands on
    /portal/; officers are told to use their own page and are not signed in."""

    template_name = T + "login.html"
    authentication_form = PortalAuthenticationForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self):
        return "/portal/"

    def get_redirect_url(self):
        target = super().get_redirect_url()
        return target if target.startswith("/portal/") else ""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "oidc_enabled": settings.PORTAL_OIDC_ENABLED,
                "oidc_provider": settings.OIDC_PROVIDER_NAME}


class PortalPasswordResetView(auth_views.PasswordResetView):
    template_name = T + "password_reset_form.html"
    email_template_name = T + "email/password_reset.txt"
    subject_template_name = T + "email/password_reset_subject.txt"
    form_class = PortalPasswordResetForm
    success_url = reverse_lazy("portal:password-reset-done")

    def post(self, request, *args, **kwargs):
        throttled = services.account_action_throttle(request, "reset", request.POST.get("email", ""))
        if throttled is not None:
            return throttled_page(request, throttled)
        return super().post(request, *args, **kwargs)


class PortalPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = T + "password_reset_confirm.html"
    success_url = reverse_lazy("portal:password-reset-complete")
    post_reset_login = False


@applicant_required
def organisation(request):
    representative = request.representative
    organisation = representative.organisation
    return render(request, T + "organisation.html", {
        "organisation": organisation, "me": representative,
        "representatives": organisation.representatives.select_related("user").order_by("full_name", "id"),
        "awaiting": services.registrations_awaiting(representative)})


@require_POST
@applicant_required
def registration_decide(request, registration_id: int):
    decision = request.POST.get("decision")
    if decision not in {"approve", "refuse"}:
        raise PermissionDenied
    try:
        registration = services.registration_decide(request, registration_id, representative=request.representative,
                                                    approve=decision == "approve")
    except services.NotAllowed:
        raise Http404 from None
    if decision == "approve":
        messages.success(request, _("%(name)s now acts for the organisation.") % {"name": registration.full_name})
    else:
        messages.info(request, _("The request of %(name)s was refused.") % {"name": registration.full_name})
    return redirect("portal:organisation")


urlpatterns = [
    path("accounts/register/", register, name="register"),
    path("accounts/register/sent/", register_sent, name="register-sent"),
    path("accounts/verify/resend/", verify_resend, name="verify-resend"),
    path("accounts/verify/<str:uidb64>/<str:token>/", verify, name="verify"),
    path("accounts/login/", PortalLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page=reverse_lazy("portal:login")), name="logout"),
    path("accounts/password/reset/", PortalPasswordResetView.as_view(), name="password-reset"),
    path("accounts/password/reset/sent/",
         auth_views.PasswordResetDoneView.as_view(template_name=T + "password_reset_done.html"),
         name="password-reset-done"),
    path("accounts/password/reset/<str:uidb64>/<str:token>/", PortalPasswordResetConfirmView.as_view(),
         name="password-reset-confirm"),
    path("accounts/password/reset/done/",
         auth_views.PasswordResetCompleteView.as_view(template_name=T + "password_reset_complete.html"),
         name="password-reset-complete"),
    path("organisation/", organisation, name="organisation"),
    path("organisation/registrations/<int:registration_id>/decide/", registration_decide,
         name="registration-decide"),
    *oidc_pages.urlpatterns,
]
