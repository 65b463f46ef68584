"""Photos from the tablets: checked (size, pixels from the header, a real image), re-encoded as JPEG without metadata.

Nothing here decides who may send a photo: `services.photo_add` settles that before it calls `photo_prepare`, so
that a file sent by someone who may not add it is never opened.
"""

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image

from cases.attachments import ImageRefused, image_load, image_open, image_upright, upload_max_pixels

from .errors import PhotoRejected

# Limits: a tablet photo is a few MB and 8-13 megapixels. More pixels than UPLOAD_MAX_PIXELS (40 MP; the setting
# INSPECTION_PHOTO_MAX_PIXELS overrides it for photos) are refused from the header, before decoding.
PHOTO_MAX_BYTES_DEFAULT = 10 * 1024 * 1024
STORED_MAX_SIDE = 4096
STORED_QUALITY = 85
THUMBNAIL_SIDE = 320
THUMBNAIL_QUALITY = 75


def photo_max_bytes() -> int:
    return int(getattr(settings, "INSPECTION_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES_DEFAULT))


def photo_max_pixels() -> int:
    return int(getattr(settings, "INSPECTION_PHOTO_MAX_PIXELS", upload_max_pixels()))


@dataclass(frozen=True)
class CheckedPhoto:
    sha256: str  # of the bytes sent: the same photo sent twice is recognised before any re-encoding
    jpeg: bytes
    width: int
    height: int


def _refuse(message: str, **extra):
    raise PhotoRejected(message, extra={"errors": {"file": [message]}, **extra})


def photo_digest(upload) -> str:
    """The sha256 of the bytes sent, read in chunks (nothing decoded): how a photo sent again is recognised."""
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


def photo_check(upload) -> bytes:
    """The bytes of a photo whose size and pixel count are acceptable (from the upload's size and the image's
    header; nothing is decoded here), or PhotoRejected saying what is wrong."""
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
    _photo_open(data).close()
    return data


def _photo_open(data: bytes) -> Image.Image:
    """The photo opened from its header (nothing decoded), its pixel count checked; or PhotoRejected."""
    max_pixels = photo_max_pixels()
    try:
        return image_open(data, max_pixels)
    except ImageRefused as refused:
        _refused(refused, max_pixels)


def _refused(refused: ImageRefused, max_pixels: int):
    if refused.pixels is None:
        _refuse(_("The file is not a photo: only JPEG, PNG and WebP images are accepted."))
    if refused.pixels == 0:
        _refuse(_("The image has too many pixels to be a photo (decompression bomb)."), max_pixels=max_pixels)
    _refuse(_("The image has too many pixels (%(pixels)s megapixels; at most %(max)s).")
            % {"pixels": round(refused.pixels / 1_000_000), "max": round(max_pixels / 1_000_000)},
            max_pixels=max_pixels)


def photo_prepare(upload) -> CheckedPhoto:
    """Check the upload and re-encode it: turned upright, RGB, at most STORED_MAX_SIDE, JPEG, no EXIF.

    The pixel count is checked from the header before anything is decoded; a JPEG larger than the stored size is
    decoded at 1/2, 1/4 or 1/8 scale (libjpeg scales while decoding); the image is made smaller before it is
    turned and converted, so that the full-size image is in memory once."""
    data = photo_check(upload)
    with _photo_open(data) as image:
        try:
            image_load(image, draft=(STORED_MAX_SIDE, STORED_MAX_SIDE))
        except ImageRefused as refused:  # truncated or damaged
            _refused(refused, photo_max_pixels())
        if image.mode not in ("L", "RGB", "RGBA", "LA"):  # modes that resize poorly or not at all (the info,
            image = _rgb(image)                            # with the orientation, goes along)
        image.thumbnail((STORED_MAX_SIDE, STORED_MAX_SIDE))
        image_upright(image)  # the orientation tag goes with the metadata; apply it first
        image = _rgb(image)
        image.info = {}
        out = io.BytesIO()
        image.save(out, "JPEG", quality=STORED_QUALITY, optimize=True)
        width, height = image.size
    return CheckedPhoto(sha256=hashlib.sha256(data).hexdigest(), jpeg=out.getvalue(), width=width, height=height)


def thumbnail_make(jpeg: bytes) -> bytes:
    with Image.open(io.BytesIO(jpeg), formats=("JPEG",)) as image:
        image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        image = _rgb(image)
        image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return out.getvalue()


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image
