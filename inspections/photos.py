"""Photos from the tablets: checked (size, pixels, a real image), re-encoded as JPEG without metadata."""

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from cases.attachments import IMAGE_TYPES, upload_inspect
from cases.errors import ValidationFailed

from .errors import PhotoRejected

# Limits: a tablet photo is a few MB and up to ~50 megapixels; anything larger is refused before decoding.
PHOTO_MAX_BYTES_DEFAULT = 10 * 1024 * 1024
PHOTO_MAX_PIXELS_DEFAULT = 50_000_000
STORED_MAX_SIDE = 4096
STORED_QUALITY = 85
THUMBNAIL_SIDE = 320
THUMBNAIL_QUALITY = 75


def photo_max_bytes() -> int:
    return int(getattr(settings, "INSPECTION_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES_DEFAULT))


def photo_max_pixels() -> int:
    return int(getattr(settings, "INSPECTION_PHOTO_MAX_PIXELS", PHOTO_MAX_PIXELS_DEFAULT))


@dataclass(frozen=True)
class CheckedPhoto:
    sha256: str  # of the bytes sent: the same photo sent twice is recognised before any re-encoding
    jpeg: bytes
    width: int
    height: int


def _refuse(message: str, **extra):
    raise PhotoRejected(message, extra={"errors": {"file": [message]}, **extra})


def photo_check(upload) -> bytes:
    """The bytes of an acceptable photo, or PhotoRejected with a message saying what is wrong."""
    if upload is None:
        _refuse(_("No file was sent."))
    limit = photo_max_bytes()
    if upload.size == 0:
        _refuse(_("The file is empty."))
    if upload.size > limit:
        _refuse(_("The photo is larger than %(limit)s.") % {"limit": filesizeformat(limit)}, limit_bytes=limit)
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    not_image = _("The file is not a photo: only JPEG, PNG and WebP images are accepted.")
    # The header alone gives the size: a decompression bomb is refused before a single pixel is decoded.
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        _refuse(_("The image has too many pixels to be a photo (decompression bomb)."),
                max_pixels=photo_max_pixels())
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        _refuse(not_image)
    if width * height > photo_max_pixels():
        _refuse(_("The image has too many pixels (%(pixels)s megapixels; at most %(max)s).")
                % {"pixels": round(width * height / 1_000_000), "max": round(photo_max_pixels() / 1_000_000)},
                max_pixels=photo_max_pixels())
    # The case engine's check: Pillow's verify() and a full decode (a truncated file fails here).
    try:
        content_type, _extension = upload_inspect(upload)
    except ValidationFailed:
        _refuse(not_image)
    if content_type not in {t for t, _e in IMAGE_TYPES.values()}:
        _refuse(not_image)
    return data


def photo_prepare(upload) -> CheckedPhoto:
    """Check the upload and re-encode it: turned upright, RGB, at most STORED_MAX_SIDE, JPEG, no EXIF."""
    data = photo_check(upload)
    with Image.open(io.BytesIO(data)) as original:
        image = ImageOps.exif_transpose(original)  # the orientation tag goes with the metadata; apply it first
        image = _rgb(image)
        image.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=STORED_QUALITY, optimize=True)
        width, height = image.size
    return CheckedPhoto(sha256=hashlib.sha256(data).hexdigest(), jpeg=out.getvalue(), width=width, height=height)


def thumbnail_make(jpeg: bytes) -> bytes:
    with Image.open(io.BytesIO(jpeg)) as image:
        image = _rgb(image)
        image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image
