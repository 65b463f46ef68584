"""Who may act for which organisation online. Every portal page and endpoint goes through here: a representative
sees their own organisation's online dossiers and nothing else (no department role is ever implied)."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from cases import roles as r

from .models import Representative, Submission


def representative_for(user) -> Representative | None:
    """The user's representative record, if they act for an organisation and their e-mail is verified."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, "_sttt_representative", False)
    if cached is False:
        cached = (Representative.objects.select_related("organisation")
                  .filter(user=user, email_verified_at__isnull=False).first())
        user._sttt_representative = cached
    return cached


def applicant_required(view):
    """A page for representatives: anonymous users go to the portal's sign-in, others get 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            from django.urls import reverse

            return redirect_to_login(request.get_full_path(), reverse("portal:login"))
        representative = representative_for(request.user)
        if representative is None or r.user_roles(request.user):
            # Department staff never act as applicants with the same account.
            raise PermissionDenied
        request.representative = representative
        return view(request, *args, **kwargs)

    return wrapper


class IsRepresentative(BasePermission):
    """API: signed in as a verified representative of an organisation (and holding no department role)."""

    message = "This account does not represent an organisation."

    def has_permission(self, request, view) -> bool:
        representative = representative_for(request.user)
        if representative is None or r.user_roles(request.user):
            return False
        request.representative = representative
        return True


def submissions_visible(user):
    """The online dossiers the user may see: their organisation's, or none."""
    representative = representative_for(user)
    if representative is None:
        return Submission.objects.none()
    return Submission.objects.filter(organisation_id=representative.organisation_id)
