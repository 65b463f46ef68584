"""The public verification pages: no sign-in, throttled per client address, nothing private shown.

GET  /verify/               a form: type the code printed under the QR code, or send the PDF
GET  /verify/?code=...      goes to that code's page
GET  /verify/<code>/        what the document prints (issuer, kind, number, date, subject, holder) and its status
GET  /verify/<code>/pdf/    the signed PDF
POST /verify/               a PDF: is it exactly a document this service signed, and does its signature validate

Lookups (a code's page, its PDF) and uploads have their own budgets per address and window
(DOCUMENTS_VERIFY_LOOKUPS_PER_WINDOW, DOCUMENTS_VERIFY_UPLOADS_PER_WINDOW, DOCUMENTS_VERIFY_WINDOW_SECONDS); past
one, a 429 page with Retry-After. The counts live in the shared cache (Redis in production), as the sign-in
throttle's do (cases/security.py), so that they hold across the server's workers.
"""

import functools
import hashlib
import io
import logging
import math

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from config.ratelimit import client_ip, window_hit, window_retry_after

from .codes import code_format, code_normalise
from .selectors import verifiable_by_sha256, verifiable_public

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("sttt.security")  # throttled addresses, as for sign-ins

LOOKUPS_PER_WINDOW_DEFAULT = 30
UPLOADS_PER_WINDOW_DEFAULT = 10
WINDOW_SECONDS_DEFAULT = 60
UPLOAD_MAX_BYTES_DEFAULT = 10 * 1024 * 1024


def _unlisted(view):
    """Kept out of search engines: a page names a document's holder, for whoever holds its code, not for an index."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _throttled(request, scope: str) -> int | None:
    """Count this request against its address's budget for `scope` ("lookup" or "upload"); the seconds to wait
    when the budget is spent, else None. The window starts at the address's first request."""
    limit = _setting("DOCUMENTS_VERIFY_LOOKUPS_PER_WINDOW" if scope == "lookup" else
                     "DOCUMENTS_VERIFY_UPLOADS_PER_WINDOW",
                     LOOKUPS_PER_WINDOW_DEFAULT if scope == "lookup" else UPLOADS_PER_WINDOW_DEFAULT)
    window = _setting("DOCUMENTS_VERIFY_WINDOW_SECONDS", WINDOW_SECONDS_DEFAULT)
    ip = client_ip(request)
    key = f"verify:{scope}:{hashlib.sha256(ip.encode()).hexdigest()[:40]}"
    count = window_hit(key, window)
    if count <= limit:
        return None
    if count == limit + 1:
        security_logger.warning("verification throttled from now on: ip=%s scope=%s requests=%d window=%ss",
                                ip, scope, count, window, extra={"client_ip": ip, "scope": scope, "throttled": True})
    return window_retry_after(key, window)


def _too_many(request, retry_after: int):
    minutes = max(1, math.ceil(retry_after / 60))
    response = render(request, "documents/verify_throttled.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


def _not_found(request, typed: str = ""):
    # The same page for a malformed code, an unknown one and one reserved but not yet signed: nothing is revealed.
    return render(request, "documents/verify_not_found.html", {"typed": typed[:40]}, status=404)


def _form(request, *, code_error: str = "", upload_error: str = "", typed: str = "", status: int = 200):
    context = {"code_error": code_error, "upload_error": upload_error, "typed": typed[:40],
               "upload_limit": filesizeformat(_setting("DOCUMENTS_VERIFY_UPLOAD_MAX_BYTES",
                                                       UPLOAD_MAX_BYTES_DEFAULT))}
    return render(request, "documents/verify_form.html", context, status=status)


@_unlisted
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def verify(request):
    if request.method == "POST":
        return _verify_upload(request)
    typed = request.GET.get("code")
    if typed is None:
        return _form(request)
    code = code_normalise(typed)
    if code is None:
        return _form(request, typed=typed, status=400, code_error=_(
            "A verification code has 10 letters and digits, as printed under the QR code (e.g. 7K3Q-9XME-2B)."))
    return redirect("documents:verify-detail", code=code_format(code))


@_unlisted
@never_cache
@require_safe
def verify_detail(request, code: str):
    retry_after = _throttled(request, "lookup")
    if retry_after is not None:
        return _too_many(request, retry_after)
    normalised = code_normalise(code)
    if normalised is None:
        return _not_found(request, code)
    if code != code_format(normalised):  # typed by hand in the address bar: the printed form
        return redirect("documents:verify-detail", code=code_format(normalised), permanent=True)
    document = verifiable_public(normalised)
    if document is None:
        return _not_found(request, code)
    return render(request, "documents/verify_detail.html", {"document": document})


@_unlisted
@never_cache
@require_safe
def verify_pdf(request, code: str):
    retry_after = _throttled(request, "lookup")
    if retry_after is not None:
        return _too_many(request, retry_after)
    document = verifiable_public(code)
    if document is None:
        return _not_found(request, code)
    try:
        handle = document.pdf.open("rb")
    except FileNotFoundError:
        logger.error("verification: the signed PDF of %s is missing from storage", document.code)
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=f"{code_format(document.code)}.pdf",
                        content_type="application/pdf")


def _pdf_readable(data: bytes) -> bool:
    """Whether pypdf reads the file as a PDF of at least one page (bounded: every stream it inflates is capped;
    any error it raises on a hostile file means "not readable")."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return False
        return int(reader.trailer["/Root"]["/Pages"]["/Count"]) >= 1
    except Exception:  # noqa: BLE001  pypdf raises many kinds of error (and RecursionError) on hostile input
        return False


def _verify_upload(request):
    retry_after = _throttled(request, "upload")
    if retry_after is not None:
        return _too_many(request, retry_after)
    limit = _setting("DOCUMENTS_VERIFY_UPLOAD_MAX_BYTES", UPLOAD_MAX_BYTES_DEFAULT)
    upload = request.FILES.get("pdf")
    if upload is None:
        return _form(request, status=400, upload_error=_("No file was sent."))
    if upload.size == 0:
        return _form(request, status=400, upload_error=_("The file is empty."))
    if upload.size > limit:
        return _form(request, status=400,
                     upload_error=_("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)})
    data = upload.read()
    if not data.startswith(b"%PDF-"):
        return _form(request, status=400, upload_error=_(
            "This file is not a PDF. Send the PDF file of the document, as it was downloaded or received."))
    digest = hashlib.sha256(data).hexdigest()
    document = verifiable_by_sha256(digest)
    if document is None and not _pdf_readable(data):
        return _form(request, status=400, upload_error=_("The PDF could not be read: it is damaged or is not a PDF."))
    # Imported on the first upload: pyHanko is heavy, and a web worker that only shows pages never needs it.
    from .validation import pdf_signature_check

    try:
        check = pdf_signature_check(data)
    except Exception:  # a file pyHanko cannot read at all: said on the page, not a server error
        logger.exception("verification: the signature of an uploaded PDF could not be checked (sha256 %s)", digest)
        check = None
    return render(request, "documents/verify_result.html",
                  {"document": document, "check": check, "sha256": digest, "file_size": len(data)})
