"""The QR code printed on a signed document's first page, leading to its public verification page."""

import io

import segno
from django.conf import settings

from .codes import code_format, code_normalise

PUBLIC_BASE_URL_DEFAULT = "http://127.0.0.1:8000"


def verification_url(code: str) -> str:
    """The public page of the document with this code: DOCUMENTS_PUBLIC_BASE_URL + /verify/7K3Q-9XME-2B/."""
    normalised = code_normalise(code)
    if normalised is None:
        raise ValueError(f"not a verification code: {code!r}")
    base = getattr(settings, "DOCUMENTS_PUBLIC_BASE_URL", "") or PUBLIC_BASE_URL_DEFAULT
    return f"{base.rstrip('/')}/verify/{code_format(normalised)}/"


def _qr(url: str) -> segno.QRCode:
    # Level M (15% of the symbol may be lost) and no boost: the same size and level for every document.
    return segno.make_qr(url, error="m", boost_error=False)


def qr_png(url: str, *, scale: int = 4) -> bytes:
    """The QR code of `url` as a PNG, `scale` pixels a module, with the standard quiet zone of 4 modules."""
    out = io.BytesIO()
    _qr(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(url: str, *, scale: int = 4) -> str:
    """The QR code of `url` as an SVG document (no XML declaration, no style: it can be embedded as is)."""
    out = io.BytesIO()
    _qr(url).save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgclass=None, lineclass=None)
    return out.getvalue().decode("ascii")
