"""Every upload endpoint × every bad input: wrong type, oversized, decompression bombs, path-like file names.

The endpoints: the API's case files (`/api/v1/cases/{id}/attachments/`, which is also how a licensing dossier's
files arrive), the officer's page form for a dossier's files (`/licensing/cases/{id}/attachments/`) and the
tablets' finding photos (`/api/v1/inspections/photos/`). Bad input gets a clear 400 problem from the API (a
readable error message on the page) and leaves nothing behind: no row, no timeline event, no queued task, no file.
A path-like file name never reaches the file system: the file is stored under a generated name and the name
shown to users is cleaned (or, when nothing usable remains of it, the upload is refused as having no file).

The requests are encoded by hand: Django's test client would strip the paths from file names before sending.
"""

import html
import io
import os
import re
import struct
import uuid
import zipfile
import zlib
from urllib.parse import quote

import pytest
from PIL import Image

from cases.models import Attachment, CaseEvent
from inspections.models import Photo
from licensing.display import attachment_kind_choices
from worker.models import OutboxMessage

from .factories import case_make
from .support_inspections import campaign_make, checklists_load, finding_body, items_of

pytestmark = pytest.mark.django_db

FINDINGS = "/api/v1/inspections/findings/"
PHOTOS = "/api/v1/inspections/photos/"
LIMIT = 150_000  # the size limits, lowered for the oversized cases so that they stay fast


# --- Files ----------------------------------------------------------------------------------------------------


def png(size=(48, 32), noise: bool = False) -> bytes:
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)) if noise else Image.new(
        "RGB", size, (20, 120, 200))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height pixels, with one row of data: a few bytes that would decode to
    gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * (width * 3 + 1)))
            + chunk(b"IEND", b""))


def png_bomb(side: int = 8000) -> bytes:
    """A real, complete PNG of a few kilobytes that decodes to side² pixels (64 MP by default)."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 20), (255, 0, 0)).save(out, "GIF")
    return out.getvalue()


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def docx_bomb(unpacked_mb: int = 150) -> bytes:
    """A DOCX of a few hundred kilobytes whose document.xml unpacks to `unpacked_mb` MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            block = b" " * (1024 * 1024)
            for _ in range(unpacked_mb):
                part.write(block)
    return out.getvalue()


def pdf(size: int = 2000) -> bytes:
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n"
    return body + b"%" + os.urandom(max(0, size - len(body) - 20)).replace(b"\n", b" ") + b"\ntrailer<<>>\n%%EOF\n"


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b"<script>alert(document.cookie)</script></svg>")

TYPE = "chấp nhận"  # "Only … are accepted" (case files), "The file is not a photo: only … accepted" (photos)
# (id, data, file name, what the refusal says in Vietnamese: (case files, photos), each a regular expression)
BAD_INPUTS = [
    ("text-named-pdf", lambda: b"Day la van ban, khong phai PDF.\n" * 20, "ho-so.pdf", (TYPE, TYPE)),
    ("windows-executable", lambda: b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + os.urandom(2000), "scan.pdf",
     (TYPE, TYPE)),
    ("html-named-png", lambda: b"<html><body><script>alert(1)</script></body></html>", "anh.png", (TYPE, TYPE)),
    ("svg-with-script", lambda: SVG, "logo.png", (TYPE, TYPE)),
    ("gif", gif, "anh.gif", (TYPE, TYPE)),
    ("zip-not-docx", lambda: zip_of({"readme.txt": b"khong phai van ban Word"}), "ho-so.docx", (TYPE, TYPE)),
    ("truncated-png", lambda: png(noise=True)[:400], "anh.png", (TYPE, TYPE)),
    ("empty", lambda: b"", "trong.pdf", ("rỗng", "rỗng")),
    ("oversized-valid-png", lambda: png((300, 300), noise=True), "lon.png", (r"lớn hơn 146,5\sKB", r"lớn hơn 146,5\sKB")),
    ("bomb-64-megapixels", png_bomb, "bom.png", ("quá lớn \\(64 megapixel\\)", "quá nhiều điểm ảnh \\(64 megapixel")),
    ("bomb-header-400-megapixels", lambda: png_header_only(20000, 20000), "bom2.png",
     ("quá nhiều điểm ảnh", "quá nhiều điểm ảnh")),
    ("docx-zip-bomb", docx_bomb, "bom.docx", ("giải nén", TYPE)),
]
_cache: dict[str, bytes] = {}


def bad_input(case_id: str) -> tuple[bytes, str]:
    for name, make, file_name, _says in BAD_INPUTS:
        if name == case_id:
            if name not in _cache:
                _cache[name] = make()
            return _cache[name], file_name
    raise KeyError(case_id)


def multipart(fields: dict[str, str], data: bytes, file_name: str) -> tuple[bytes, str]:
    """A multipart/form-data body with the file name sent exactly as given (as a browser would send it)."""
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'.encode()
                 + file_name.encode("utf-8", "surrogatepass")
                 + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- The endpoints ----------------------------------------------------------------------------------------------


class Endpoint:
    """One upload endpoint: how to send a file, and what it stored."""

    name = ""
    api = True

    def send(self, data: bytes, file_name: str):
        body, content_type = multipart(self.fields(), data, file_name)
        return self.client.post(self.url, data=body, content_type=content_type)

    def stored(self) -> list:
        raise NotImplementedError


class CaseFilesApi(Endpoint):
    name = "api-case-files"

    def __init__(self, api, officer):
        self.case = case_make(actor=officer)
        self._baseline()
        self.client = api.as_user(officer)
        self.url = f"/api/v1/cases/{self.case.pk}/attachments/"

    def _baseline(self):
        """A licensing case is received with its dossier's required file: what this test sends comes after it."""
        self.before = {"files": set(Attachment.objects.values_list("pk", flat=True)),
                       "events": set(CaseEvent.objects.filter(kind=CaseEvent.Kind.ATTACHMENT)
                                     .values_list("pk", flat=True))}

    def new_attachment(self):
        return Attachment.objects.exclude(pk__in=self.before["files"]).get()

    def fields(self):
        return {"description": "Hồ sơ", "kind": "other"}

    def stored(self):
        return [*Attachment.objects.exclude(pk__in=self.before["files"]),
                *CaseEvent.objects.filter(kind=CaseEvent.Kind.ATTACHMENT).exclude(pk__in=self.before["events"])]


class CaseFilesPage(CaseFilesApi):
    name = "page-dossier-files"
    api = False

    def __init__(self, client, officer):
        self.case = case_make(actor=officer)
        self._baseline()
        client.force_login(officer)
        self.client = client
        self.url = f"/licensing/cases/{self.case.pk}/attachments/"

    def fields(self):
        return {"description": "Hồ sơ", "kind": attachment_kind_choices(self.case.case_type.code)[0][0]}


class FindingPhotosApi(Endpoint):
    name = "api-finding-photos"

    def __init__(self, api, lead, inspector):
        checklists_load()
        campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
        self.client = api.as_user(inspector)
        response = self.client.post(FINDINGS, finding_body(campaign.targets.get(), items_of(campaign)[2],
                                                           result="violation", note="Thiếu sổ"), format="json")
        assert response.status_code == 201, response.content
        self.finding = response.json()["uuid"]
        self.url = PHOTOS

    def fields(self):
        return {"uuid": str(uuid.uuid4()), "finding": self.finding}

    def stored(self):
        return [*Photo.objects.all(), *OutboxMessage.objects.filter(task_name="inspections.photo_thumbnail")]


ENDPOINTS = ["api-case-files", "page-dossier-files", "api-finding-photos"]


@pytest.fixture
def endpoint(request, api, client, officer, lead, inspector) -> Endpoint:
    made = {"api-case-files": lambda: CaseFilesApi(api, officer),
            "page-dossier-files": lambda: CaseFilesPage(client, officer),
            "api-finding-photos": lambda: FindingPhotosApi(api, lead, inspector)}[request.param]()
    return made


def media_files(settings) -> set[str]:
    root = settings.MEDIA_ROOT
    return {os.path.relpath(os.path.join(d, f), root) for d, _dirs, files in os.walk(root) for f in files}


def has_vietnamese(text: str) -> bool:
    return bool(re.search(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", text.lower()))


def assert_refused(endpoint: Endpoint, response) -> str:
    """A clear refusal: a 400 problem naming the file field (API) or an error message on the case page."""
    if endpoint.api:
        assert response.status_code == 400, response.content[:500]
        assert response["Content-Type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == 400 and problem["code"] in {"validation", "photo_invalid"}
        messages = problem["errors"]["file"]
        assert messages and all(has_vietnamese(m) for m in messages), messages
        return " ".join(messages)
    assert response.status_code == 302
    page = endpoint.client.get(response["Location"])
    errors = re.findall(r'<li class="error">(.*?)</li>', page.content.decode(), flags=re.S)
    assert errors and has_vietnamese(errors[0]), errors
    return html.unescape(errors[0])


# --- Bad content ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
@pytest.mark.parametrize("bad", [b[0] for b in BAD_INPUTS])
def test_bad_content_is_refused_and_nothing_is_stored(endpoint, bad, settings):
    data, file_name = bad_input(bad)
    if bad == "oversized-valid-png":  # the limits lowered, so that the oversized file stays small
        settings.ATTACHMENT_MAX_BYTES = settings.INSPECTION_PHOTO_MAX_BYTES = LIMIT
    before = media_files(settings)
    response = endpoint.send(data, file_name)
    says = assert_refused(endpoint, response)
    expected = next(b[3] for b in BAD_INPUTS if b[0] == bad)[isinstance(endpoint, FindingPhotosApi)]
    assert re.search(expected, says), (expected, says)
    assert endpoint.stored() == []
    assert media_files(settings) == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
def test_the_same_valid_file_is_accepted_so_the_refusals_are_about_the_content(endpoint, settings):
    """The control case: a small valid PNG, sent the same way, is stored (and only then are there files)."""
    response = endpoint.send(png(), "anh.png")
    assert response.status_code in ({201} if endpoint.api else {302}), response.content[:500]
    assert len(endpoint.stored()) >= 1
    assert media_files(settings)


def test_the_default_size_limit_of_case_files_is_enforced(api, officer, settings):
    settings.ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
    endpoint = CaseFilesApi(api, officer)
    before = media_files(settings)
    response = endpoint.send(pdf(20 * 1024 * 1024 + 1), "ho-so-lon.pdf")
    assert "20" in assert_refused(endpoint, response)
    assert endpoint.stored() == [] and media_files(settings) == before


# --- Path-like file names ---------------------------------------------------------------------------------------

# (file name sent, the name kept for display; None: nothing usable remains, the upload is refused as fileless)
PATH_NAMES = [
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\Windows\\system.ini.png", "system.ini.png"),
    ("/etc/cron.d/job.png", "job.png"),
    ("C:\\Users\\canbo\\Desktop\\anh chup.png", "anh chup.png"),
    ("anh\x00.php.png", "anh.php.png"),
    ("\u202egnp.exe", "gnp.png"),  # a PNG: the name kept takes the extension of the type found
    (".htaccess.png", "htaccess.png"),
    ("ảnh " + "x" * 400 + ".png", None),  # kept, at most 255 characters (checked below)
    ("..", False),
    ("../", False),
    ("\x00", False),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, indirect=True)
@pytest.mark.parametrize(("sent", "kept"), PATH_NAMES, ids=[f"name{i}" for i in range(len(PATH_NAMES))])
def test_path_like_names_never_reach_the_file_system(endpoint, sent, kept, settings):
    before = media_files(settings)
    response = endpoint.send(png(), sent)
    if kept is False:
        assert_refused(endpoint, response)
        assert endpoint.stored() == [] and media_files(settings) == before
        return
    assert response.status_code in ({201} if endpoint.api else {302}), response.content[:500]
    new_files = media_files(settings) - before
    assert len(new_files) == 1
    stored = new_files.pop()
    if isinstance(endpoint, FindingPhotosApi):
        photo = Photo.objects.get()
        assert stored == photo.file.name
        assert re.fullmatch(rf"inspections/photos/\d{{4}}/\d{{2}}/{photo.pk}\.jpg", stored), stored
    else:
        attachment = endpoint.new_attachment()
        assert stored == attachment.file.name
        assert re.fullmatch(rf"cases/\d{{4}}/\d{{2}}/{attachment.uuid}\.png", stored), stored
        name = attachment.original_name
        assert not set(name) & {"/", "\\", "\x00", "\u202e"} and not name.startswith(".")
        if kept is None:
            assert len(name) <= 255 and name.startswith("ảnh xxx") and name.endswith(".png")
        else:
            assert name == kept
        # The download gives the cleaned name back.
        if endpoint.api:
            download = endpoint.client.get(f"{endpoint.url}{attachment.pk}/download/")
            assert download.status_code == 200
            disposition = download["Content-Disposition"]
            assert name in disposition or quote(name) in disposition, disposition
    assert not (settings.MEDIA_ROOT.parent / "etc").exists()


def test_the_service_cleans_names_that_did_not_come_through_a_browser(officer, settings):
    """A name given by other code (an import, a script) is cleaned by the service itself."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cases.services import attachment_add

    case = case_make(actor=officer)
    upload = SimpleUploadedFile("x.png", png())
    upload.name = "..\\..\\etc\\passwd\x00.png"  # set after construction: the constructor would strip '/' only
    attachment, created = attachment_add(case_id=case.pk, actor=officer, upload=upload)
    assert created and attachment.original_name == "passwd.png"
    assert re.fullmatch(rf"cases/\d{{4}}/\d{{2}}/{attachment.uuid}\.png", attachment.file.name)
