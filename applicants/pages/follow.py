"""The applicant follows their dossiers (/portal/): the list of their organisation's dossiers, a dossier's page (state,
due date, public timeline, documents), downloads, the supplement answered online, the rating; and the public lookup of
any dossier by the code and secret printed on its receipt.

Every page but the lookup is for representatives (access.applicant_required) and reads only their organisation's
dossiers (access.submissions_visible): another organisation's dossier is a 404, as an unknown one. Writes call one
service each (applicants.dossiers), which checks again."""

import hashlib
import logging
import math

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases.errors import DomainError
from config.ratelimit import client_ip, window_hit, window_retry_after

from .. import dossiers as d
from ..access import applicant_required
from ..models import Rating

security_logger = logging.getLogger("sttt.security")

PAGE_SIZE = 20
SUPPLEMENT_ROWS = 3  # file inputs offered at once on the page (the API takes up to 10)


def _error_text(exc: DomainError) -> str:
    errors = exc.extra.get("errors") if isinstance(exc.extra, dict) else None
    detail = str(exc.detail)
    if errors:
        first = next(iter(errors.values()))
        text = str(first[0]) if isinstance(first, list) and first else ""
        if text and text != detail:
            return f"{detail} {text}"
    return detail


@applicant_required
@require_safe
def home(request):
    """My organisation's dossiers, newest first."""
    page = Paginator(d.dossiers_of(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for submission in page.object_list:
        code = d.state_code(submission)
        case = submission.case if submission.case_id else None
        rows.append({"submission": submission, "state": code, "state_label": d.state_label(code),
                     "procedure_name": d.procedure_name(submission), "case": case,
                     "due_at": case.due_at if case is not None and code in {"in_progress", "late", "late_apologised"}
                     else None})
    return render(request, "applicants/follow/home.html", {
        "page": page, "rows": rows, "organisation": request.representative.organisation})


@applicant_required
@require_safe
def dossier(request, uuid):
    submission = d.dossier_get(request.user, uuid)
    view = d.dossier_view(submission)
    kinds = d.supplement_kinds(view.case) if view.may_supplement else []
    return render(request, "applicants/follow/dossier.html", {
        "view": view, "submission": submission, "supplement_kinds": kinds,
        "supplement_rows": range(1, SUPPLEMENT_ROWS + 1), "scores": Rating.Score.choices})


@applicant_required
@require_safe
def document(request, uuid, document_id: int):
    """A document addressed to the applicant: its signed PDF when it exists, else the DOCX as issued. The first
    download by a representative is the document's electronic delivery."""
    submission = d.dossier_get(request.user, uuid)
    issued = d.document_of(submission, document_id)
    stem = (issued.number_text or issued.get_kind_display() or issued.kind).replace("/", "-")
    handle, name, content_type = d.document_open(issued, stem=stem)
    d.document_delivered(document=issued, user=request.user)
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)


@applicant_required
@require_safe
def refusal_slip(request, uuid):
    """The refusal to receive the dossier: its signed PDF, or the DOCX while it is being signed."""
    handle, name, content_type = d.refusal_slip_open(d.dossier_get(request.user, uuid))
    return FileResponse(handle, as_attachment=True, filename=name, content_type=content_type)


@applicant_required
@require_POST
def supplement(request, uuid):
    submission = d.dossier_get(request.user, uuid)
    files = []
    for row in range(1, SUPPLEMENT_ROWS + 1):
        upload = request.FILES.get(f"file_{row}")
        if upload is not None:
            files.append((request.POST.get(f"kind_{row}") or "other", upload))
    version = request.POST.get("version")
    try:
        d.supplement_submit(submission=submission, user=request.user, files=files,
                            message=request.POST.get("message", ""),
                            version=int(version) if version and version.isdigit() else None)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Your supplement was sent: the processing of the dossier resumes."))
    return redirect("portal:dossier", uuid=submission.uuid)


@applicant_required
@require_POST
def rate(request, uuid):
    submission = d.dossier_get(request.user, uuid)
    try:
        d.rating_give(submission=submission, user=request.user, score=request.POST.get("score"),
                      comment=request.POST.get("comment", ""))
    except DomainError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("Thank you: your rating was recorded."))
    return redirect("portal:dossier", uuid=submission.uuid)


# --- Public lookup by the receipt's code and secret ------------------------------------------------------------------

LOOKUPS_PER_WINDOW_DEFAULT = 10
WINDOW_SECONDS_DEFAULT = 300


def lookup_key(ip: str) -> str:
    return f"portal:lookup:{hashlib.sha256(ip.encode()).hexdigest()[:40]}"


def lookup_throttled(request) -> int | None:
    """Count this lookup against its address's budget (PORTAL_LOOKUPS_PER_WINDOW per PORTAL_LOOKUP_WINDOW_SECONDS,
    in the shared cache, as documents/views.py counts verifications); the seconds to wait when spent, else None."""
    limit = int(getattr(settings, "PORTAL_LOOKUPS_PER_WINDOW", LOOKUPS_PER_WINDOW_DEFAULT))
    window = int(getattr(settings, "PORTAL_LOOKUP_WINDOW_SECONDS", WINDOW_SECONDS_DEFAULT))
    ip = client_ip(request)
    key = lookup_key(ip)
    count = window_hit(key, window)
    if count <= limit:
        return None
    if count == limit + 1:
        security_logger.warning("portal lookup throttled from now on: ip=%s requests=%d window=%ss", ip, count, window,
                                extra={"client_ip": ip, "scope": "portal-lookup", "throttled": True})
    return window_retry_after(key, window)


def _normalise(value: str, length: int) -> str:
    return "".join(value.split()).replace("-", "").upper()[:length] if value else ""


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def lookup(request):
    """Anyone holding a receipt (online or at the counter) sees the dossier's state, due date and public timeline.
    A wrong secret and an unknown code get the same answer."""
    from licensing.selectors import dossier_lookup

    context = {"reference": "", "found": None, "not_found": False}
    if request.method == "POST":
        retry_after = lookup_throttled(request)
        if retry_after is not None:
            response = render(request, "applicants/follow/lookup.html", {
                **context, "throttled": True, "minutes": max(1, math.ceil(retry_after / 60))}, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        reference = (request.POST.get("reference") or "").strip().upper()[:40]
        secret = _normalise(request.POST.get("secret") or "", 16)
        context["reference"] = reference
        case = dossier_lookup(reference, secret) if reference and secret else None
        if case is None:
            context["not_found"] = True
            response = render(request, "applicants/follow/lookup.html", context, status=404)
        else:
            context["found"] = d.case_public_view(case)
            response = render(request, "applicants/follow/lookup.html", context)
    else:
        response = render(request, "applicants/follow/lookup.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


urlpatterns = [
    path("", home, name="home"),
    path("dossiers/<uuid:uuid>/", dossier, name="dossier"),
    path("dossiers/<uuid:uuid>/documents/<int:document_id>/", document, name="document"),
    path("dossiers/<uuid:uuid>/refusal-slip/", refusal_slip, name="refusal-slip"),
    path("dossiers/<uuid:uuid>/supplement/", supplement, name="supplement"),
    path("dossiers/<uuid:uuid>/rate/", rate, name="rate"),
    path("lookup/", lookup, name="lookup"),
]
