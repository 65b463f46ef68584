"""Checks on uploaded files: size, type proven by content (never by name or header), and what is stored.

The checks go from cheap to dear, and nothing is decoded before it is known to be small enough:
* the size the upload declares (nothing read);
* the first bytes say which parser may look at it (PDF, DOCX, or one of three image formats; no other parser of
  Pillow is ever tried);
* an image's header gives its pixel count, and more than `UPLOAD_MAX_PIXELS` (40 MP) is refused before a pixel is
  decoded. Pillow opens lazily: `Image.open` reads the header only. `Image.MAX_IMAGE_PIXELS` is lowered to the same
  number as a second line (Pillow refuses at twice it on open);
* a PDF must parse (pypdf, its own limits on every stream it inflates), be readable without a password and have
  between 1 and `UPLOAD_PDF_MAX_PAGES` pages; a DOCX must hold a Word document and not unpack to a bomb.

What is stored is what was found, not what was sent: an image is decoded and encoded again in its own format
(metadata, comments and any bytes after the image are gone; the orientation is applied first), a PDF loses whatever
follows its last `%%EOF`, and the file's name takes the extension of the type found (`gnp.exe` sent as a PNG is
kept as `gnp.png`). The uploader's file name is never part of a stored path (files are stored under generated
names, see `attachment_upload_to`); it is kept for display and download only, cleaned by `upload_name_clean`.
"""

import io
import logging
import os
import re
import warnings
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ValidationFailed

IMAGE_TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
IMAGE_FORMATS = tuple(IMAGE_TYPES)  # the only Pillow plugins that ever see an upload
PDF = ("application/pdf", ".pdf")
DOCX = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx")
# A sent name whose extension is one of these keeps it; any other extension is replaced by the type's own.
EXTENSIONS = {".jpg": {".jpg", ".jpeg", ".jpe", ".jfif"}, ".png": {".png"}, ".webp": {".webp"}, ".pdf": {".pdf"},
              ".docx": {".docx"}}
# Images with more pixels than this are refused from their header, before any decoding (decompression bombs).
# A tablet photo is 8-13 MP, a scanned A4 page at 600 dpi 35 MP. The setting UPLOAD_MAX_PIXELS overrides it.
UPLOAD_MAX_PIXELS_DEFAULT = 40_000_000
# A PDF with more pages than this is refused (the setting UPLOAD_PDF_MAX_PAGES overrides it). A manuscript for a
# publishing licence may run to a few hundred pages; counting pages walks the page tree, so the declared count is
# checked first.
UPLOAD_PDF_MAX_PAGES_DEFAULT = 3000
# A DOCX whose parts would unpack to more than this is refused (a zip bomb), from the sizes its directory declares.
DOCX_MAX_UNPACKED_BYTES = 100 * 1024 * 1024
JPEG_QUALITY = 90  # when the original's own tables cannot be kept
WEBP_QUALITY = 90
NAME_MAX_LENGTH = 255
_NAME_REFUSED_CHARACTERS = set('<>:"|?*')

# Pillow's own guard, as a second line behind the check of the header: it refuses to open (DecompressionBombError)
# an image of more than twice this, whatever calls it in this process.
Image.MAX_IMAGE_PIXELS = min(Image.MAX_IMAGE_PIXELS or UPLOAD_MAX_PIXELS_DEFAULT,
                             int(getattr(settings, "UPLOAD_MAX_PIXELS", UPLOAD_MAX_PIXELS_DEFAULT)))
# Pillow warns (DecompressionBombWarning) between its limit and twice it: every upload's pixel count is checked
# against the same limit before it is decoded, so the warning says nothing new.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
logging.getLogger("pypdf").setLevel(logging.ERROR)  # its notes on each repair of a hostile file are not ours to log


def upload_max_pixels() -> int:
    return int(getattr(settings, "UPLOAD_MAX_PIXELS", UPLOAD_MAX_PIXELS_DEFAULT))


def pdf_max_pages() -> int:
    return int(getattr(settings, "UPLOAD_PDF_MAX_PAGES", UPLOAD_PDF_MAX_PAGES_DEFAULT))


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


def name_for_type(name, extension: str) -> str:
    """The cleaned name with the extension of the type found: `gnp.exe` holding a PNG is `gnp.png`, `scan` holding
    a PDF is `scan.pdf`; `IMG.JPEG` holding a JPEG stays as it is. Empty when nothing usable remains."""
    name = upload_name_clean(name)
    if not name:
        return ""
    stem, sent = os.path.splitext(name)
    if sent.lower() in EXTENSIONS.get(extension, {extension}):
        return name
    stem = stem.rstrip(" .") or "file"
    return stem[:NAME_MAX_LENGTH - len(extension)] + extension


def download_name(attachment) -> str:
    """The name a download is offered under: the stored name, with the extension of the stored type (files stored
    before the names followed the type keep their stem)."""
    return name_for_type(attachment.original_name, attachment.extension) or f"file{attachment.extension}"


def _refuse(message: str, **extra):
    raise ValidationFailed(message, extra={"errors": {"file": [message]}, **extra})


def _not_accepted():
    _refuse(_("Only images (JPEG, PNG, WebP), PDF and DOCX files are accepted."))


@dataclass(frozen=True)
class Stored:
    """What an accepted upload becomes: the file to store (named after its type) and that type."""

    file: ContentFile
    content_type: str
    extension: str


def upload_inspect(upload) -> Stored:
    """Check an upload and give what is to be stored, or raise ValidationFailed saying what is wrong.

    The upload itself is left as it was (read from its start again afterwards): its bytes are what a retry is
    recognised by."""
    if upload is None:
        _refuse(_("No file was sent."))
    if upload.size == 0:
        _refuse(_("The file is empty."))
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        _refuse(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES)})
    upload.seek(0)
    try:
        data = upload.read()
    finally:
        upload.seek(0)
    if data.startswith(b"%PDF-"):
        content_type, extension = PDF
        data = _pdf_check(data)
    elif data.startswith(b"PK\x03\x04"):
        content_type, extension = _docx_check(upload)
    else:
        content_type, extension, data = _image_reencode(data)
    return Stored(file=ContentFile(data, name=name_for_type(upload.name, extension)), content_type=content_type,
                  extension=extension)


# --- Images -------------------------------------------------------------------------------------------------


class ImageRefused(Exception):
    """Not an image of an accepted format (`pixels` None), or one with too many pixels (`pixels` its count, or 0
    when Pillow itself refused it as a bomb)."""

    def __init__(self, pixels: int | None = None):
        self.pixels = pixels
        super().__init__(pixels)


def image_open(data: bytes, max_pixels: int) -> Image.Image:
    """The image, opened from its header only (nothing decoded), after its pixel count was found acceptable.

    Only the JPEG, PNG and WebP parsers look at the bytes. Raises ImageRefused."""
    try:
        image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError as error:  # so large that Pillow itself refuses to open it
        raise ImageRefused(0) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageRefused() from error
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        image.close()
        raise ImageRefused(width * height if width * height > max_pixels else None)
    return image


def image_load(image: Image.Image, *, draft: tuple[int, int] | None = None) -> None:
    """Decode an image whose size was checked. A JPEG given `draft` is decoded at the smallest of 1/2, 1/4, 1/8
    of its size that still covers it (the decoder scales, the full image is never in memory). A truncated or
    damaged image raises ImageRefused."""
    try:
        if draft is not None and image.format == "JPEG":
            image.draft(None, draft)
        image.load()
    except Image.DecompressionBombError as error:
        raise ImageRefused(0) from error
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError) as error:
        raise ImageRefused() from error


def image_upright(image: Image.Image) -> None:
    """Apply the image's EXIF orientation to its pixels, in place. A damaged EXIF block (Pillow raises what its TIFF
    reader raises: SyntaxError, struct.error, …) leaves the pixels as they are: the metadata goes anyway."""
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except Exception:  # noqa: S110  any error of Pillow's EXIF reader means there is no orientation to apply
        pass


def _image_reencode(data: bytes) -> tuple[str, str, bytes]:
    """An accepted image encoded again in its own format: upright, without EXIF, XMP, comments or text chunks;
    its colour profile and resolution (dpi, for scans) kept. Whatever followed the image in the file is gone."""
    limit = upload_max_pixels()
    try:
        with image_open(data, limit) as image:
            image_format = image.format
            image_load(image)
            keep_tables = image_format == "JPEG" and not _transposed(image)
            options = {key: image.info[key] for key in ("icc_profile", "dpi") if image.info.get(key)}
            alpha = "A" in image.mode or "transparency" in image.info
            image_upright(image)
            image.info = {}  # nothing of the original's metadata is written unless named in `options`
            out = io.BytesIO()
            if image_format == "JPEG":
                # The original's own quantization and subsampling when the pixels were not turned: no second loss.
                options.update({"quality": "keep", "subsampling": "keep"} if keep_tables else {"quality": JPEG_QUALITY})
                image.save(out, "JPEG", **options)
            elif image_format == "PNG":
                image.save(out, "PNG", **options)
            else:
                if image.mode not in ("RGB", "RGBA"):
                    image = image.convert("RGBA" if alpha else "RGB")
                image.save(out, "WEBP", quality=WEBP_QUALITY, **options)
    except ImageRefused as refused:
        if refused.pixels is None:
            _not_accepted()
        if refused.pixels == 0:
            _refuse(_("The image has too many pixels (decompression bomb)."), max_pixels=limit)
        _refuse(_("The image is too large (%(pixels)s megapixels).") % {"pixels": round(refused.pixels / 1_000_000)},
                max_pixels=limit)
    except (OSError, ValueError):  # an encoder that cannot write what the decoder gave: not an acceptable image
        _not_accepted()
    content_type, extension = IMAGE_TYPES[image_format]
    return content_type, extension, out.getvalue()


def _transposed(image: Image.Image) -> bool:
    try:
        return image.getexif().get(0x0112, 1) not in (0, 1)
    except Exception:  # a damaged EXIF block: the image is encoded with fresh tables
        return True


# --- PDF and DOCX ------------------------------------------------------------------------------------------


# A PDF ends with the pointer to its cross-reference table: "startxref", an offset, "%%EOF" (ISO 32000-1, 7.5.5).
_PDF_END = re.compile(rb"startxref[\0\t\n\f\r ]+\d+[\0\t\n\f\r ]+%%EOF[\0\t\f ]*(\r\n|\r|\n)?")


def _pdf_check(data: bytes) -> bytes:
    """A PDF that pypdf reads, without a password, with 1 to `UPLOAD_PDF_MAX_PAGES` pages; returned without
    whatever follows its last `startxref … %%EOF` (an HTML page appended to a PDF is not stored; one put before a
    final `%%EOF` leaves the file without its trailer, and the file is refused).

    The bytes are otherwise kept as sent: a PDF written again would lose its digital signatures. pypdf is lenient
    (it repairs a wrong cross-reference table) but bounded: every stream it inflates is capped (75 MB), and any
    error it raises on a hostile file is a refusal."""
    from pypdf import PdfReader  # imported on first use: pypdf is only needed when a PDF arrives

    damaged = _("The PDF could not be read: it is damaged or is not a PDF.")
    ends = list(_PDF_END.finditer(data))
    if not ends:
        _refuse(damaged)
    data = data[:ends[-1].end()]
    limit = pdf_max_pages()
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                readable = bool(reader.decrypt(""))
            except Exception:  # an encryption pypdf cannot undo here (AES without its library): not readable
                readable = False
            if not readable:
                _refuse(_("The PDF is protected by a password: send it without the password."))
        pages = _pdf_pages_count(reader.trailer["/Root"]["/Pages"], limit)
    except ValidationFailed:
        raise
    except Exception:  # pypdf on hostile input raises many kinds of error (and RecursionError): each is a refusal
        _refuse(damaged)
    if pages < 1:
        _refuse(damaged)
    return data


def _pdf_pages_count(tree, limit: int) -> int:
    """The pages of a PDF's page tree, counted by walking it with a budget: more than `limit` pages is refused as
    soon as the count passes it (the declared /Count is checked first), a loop or a tree deeper than 64 levels is
    damage. pypdf's own walk (`reader.pages`) would resolve every node of the tree before the count is known."""
    declared = tree.get_object().get("/Count")
    declared = declared.get_object() if declared is not None else None
    if not isinstance(declared, int) or declared > limit:
        _refuse(_("The PDF has too many pages (at most %(max)s).") % {"max": limit}, max_pages=limit)
    pages, nodes, seen = 0, 0, set()
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        node = node.get_object()
        reference = getattr(node, "indirect_reference", None)
        key = (reference.idnum, reference.generation) if reference is not None else id(node)
        if key in seen:
            raise ValueError("page tree loop")
        seen.add(key)
        nodes += 1
        if depth > 64 or nodes > 2 * limit + 64:
            raise ValueError("page tree too deep or too wide")
        kids = node.get("/Kids")
        if kids is None:
            pages += 1
            if pages > limit:
                _refuse(_("The PDF has too many pages (at most %(max)s).") % {"max": limit}, max_pages=limit)
            continue
        stack.extend((kid, depth + 1) for kid in reversed(kids.get_object()))
    return pages


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
    finally:
        upload.seek(0)
    _not_accepted()
