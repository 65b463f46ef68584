"""Checks on uploaded files: size, and type proven by content (never by name or header).

The uploader's file name is never part of a stored path (files are stored under generated names, see
`attachment_upload_to`); it is kept for display and download only, cleaned by `upload_name_clean`.
"""

import io
import os
import zipfile

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from .errors import ValidationFailed

IMAGE_TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
PDF = ("application/pdf", ".pdf")
DOCX = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")
# Images larger than this many pixels are refused from their header, before any decoding (decompression
# bombs). Pillow itself only raises at twice its limit and merely warns between the two.
MAX_IMAGE_PIXELS = 60_000_000
# A DOCX whose parts would unpack to more than this is refused (a zip bomb), from the sizes its directory declares.
DOCX_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
NAME_MAX_LENGTH = 255
_NAME_REFUSED_CHARACTERS = set('<>:"|?*')


def upload_name_clean(name) -> str:
    """The uploader's file name without any path, control or reserved character: what follows the last `/` or
    `\\`, printable characters only (no NUL, no direction overrides), no leading dots, at most 255 characters
    with its extension kept. Empty when nothing usable remains."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in _NAME_REFUSED_CHARACTERS)
    name = name.strip().lstrip(".").strip()
    if len(name) > NAME_MAX_LENGTH:
        stem, extension = os.path.splitext(name)
        extension = extension[:20]
        name = stem[:NAME_MAX_LENGTH - len(extension)] + extension
    return name


def _refuse(message: str):
    raise ValidationFailed(message, extra={"errors": {"file": [message]}})


def upload_inspect(upload) -> tuple[str, str]:
    """Return (content type, extension) of an accepted upload, or raise ValidationFailed."""
    if upload is None:
        _refuse(_("No file was sent."))
    if upload.size == 0:
        _refuse(_("The file is empty."))
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        _refuse(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)})
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    try:
        if head.startswith(b"%PDF-"):
            return PDF
        if head.startswith(b"PK\x03\x04"):
            return _docx_check(upload)
        return _image_check(upload)
    finally:
        upload.seek(0)


def _docx_check(upload) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(upload) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                if sum(member.file_size for member in members) > DOCX_MAX_UNPACKED_BYTES:
                    _refuse(_("The document would unpack to more than %(limit)s (a compressed bomb).")
                            % {"limit": filesizeformat(DOCX_MAX_UNPACKED_BYTES)})
                return DOCX
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        pass
    _refuse(_("Only images (JPEG, PNG, WebP), PDF and DOCX files are accepted."))


def _image_check(upload) -> tuple[str, str]:
    try:
        data = upload.read()
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            if image.width * image.height > MAX_IMAGE_PIXELS:
                _refuse(_("The image is too large (%(pixels)s megapixels).")
                        % {"pixels": round(image.width * image.height / 1_000_000)})
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # verify() does not decode; a truncated image fails here
    except Image.DecompressionBombError:  # so large that Pillow refuses to open it
        _refuse(_("The image has too many pixels (decompression bomb)."))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        _refuse(_("Only images (JPEG, PNG, WebP), PDF and DOCX files are accepted."))
    if image_format not in IMAGE_TYPES:
        _refuse(_("Only images (JPEG, PNG, WebP), PDF and DOCX files are accepted."))
    return IMAGE_TYPES[image_format]
