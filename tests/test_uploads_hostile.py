"""Hostile uploads and conflicts: each hostile input is sent through the API and the answer checked (status, problem
JSON and its code), with nothing stored (no row, no event, no file under MEDIA_ROOT) and nothing leaked.

* Image bombs before permission: a photo for a finding that does not exist, or that the sender may not add to, is
  refused before the file is opened at all (Pillow's `Image.open` is never called); a sender who may add it but
  sends more pixels than `UPLOAD_MAX_PIXELS` (40 MP) is refused from the image's header, and no decoder ever runs.
  The proof is a spy on Pillow itself (`Image._getdecoder`, through which every file decoder is made, and the
  `load` methods), checked against a control that does decode.
* Files are what they claim: an HTML page after `%PDF-1.4` is not a PDF; bytes after an image or a PDF are not
  stored; metadata is gone; the name kept and the download's name take the extension of the type found.
* A conflict shows only what the caller may see: a used finding or photo id answers 409 to everyone, with the stored
  version only for someone who may read it.
"""

import io
import os
import re
import struct
import time
import uuid
import zlib
from urllib.parse import unquote

import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageFile, ImageOps, WebPImagePlugin

from cases.models import Attachment, CaseEvent
from inspections.models import Finding, Photo
from worker.models import OutboxMessage

from .factories import UserFactory, case_make
from .support_inspections import campaign_make, checklists_load, finding_body, image_bytes, items_of, upload

pytestmark = pytest.mark.django_db

FINDINGS = "/api/v1/inspections/findings/"
PHOTOS = "/api/v1/inspections/photos/"
EN = {"accept-language": "en"}  # the messages checked are the source texts
FAST_SECONDS = 2.0  # a refusal before decoding takes milliseconds; decoding a 49 MP PNG took 5-17 s


# --- Hostile files -------------------------------------------------------------------------------------------


def png_bomb(side: int = 7000) -> bytes:
    """A complete PNG of a few kilobytes that decodes to side² pixels (49 MP by default, the issue's bomb)."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    return out.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width × height pixels, followed by one row of data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * (width * 3 + 1)))
            + chunk(b"IEND", b""))


def png(size=(48, 32), color=(20, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


HTML = b"<html><body><script>alert(document.cookie)</script></body></html>\n"


def pdf_of(objects: list[bytes], *, trailer_extra: bytes = b"") -> bytes:
    """A PDF with these objects (numbered from 1, the first the catalogue) and a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R%s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_extra, xref)
    return bytes(out)


def pdf_pages(count: int, *, declared: int | None = None) -> bytes:
    kids = b" ".join(b"%d 0 R" % (n + 3) for n in range(count))
    pages = b"<</Type/Pages/Kids[%s]/Count %d>>" % (kids, count if declared is None else declared)
    return pdf_of([b"<</Type/Catalog/Pages 2 0 R>>", pages]
                  + [b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>"] * count)


def pdf_encrypted(user_password: str) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt(user_password, owner_password="chu-so-huu", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- Spies on Pillow -------------------------------------------------------------------------------------------


@pytest.fixture
def pillow(monkeypatch):
    """What Pillow was asked to do during the test: `opened` files, `decoded` images (every file decoder Pillow
    makes goes through Image._getdecoder, and every decode through a `load`)."""
    seen = {"opened": [], "decoded": []}
    real_open, real_getdecoder = Image.open, Image._getdecoder

    def open_spy(*args, **kwargs):
        seen["opened"].append(args[0])
        return real_open(*args, **kwargs)

    def getdecoder_spy(mode, decoder_name, *args, **kwargs):
        seen["decoded"].append(("decoder", decoder_name))
        return real_getdecoder(mode, decoder_name, *args, **kwargs)

    monkeypatch.setattr(Image, "open", open_spy)
    monkeypatch.setattr(Image, "_getdecoder", getdecoder_spy)
    for cls in (Image.Image, ImageFile.ImageFile, WebPImagePlugin.WebPImageFile):
        def load_spy(self, _real=cls.load, _name=cls.__name__):
            if getattr(self, "tile", None) or _name == "WebPImageFile":  # a load with pixels still to decode
                seen["decoded"].append(("load", _name, self.size))
            return _real(self)
        monkeypatch.setattr(cls, "load", load_spy)
    return seen


# --- Fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def campaign(lead, inspector):
    return campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))


@pytest.fixture
def finding(api, campaign, inspector) -> dict:
    body = finding_body(campaign.targets.get(), items_of(campaign)[2], result="violation",
                        note="Sổ theo dõi ấn phẩm ghi thiếu 3 hợp đồng in", latitude=20.4463129,
                        longitude=106.3421871)
    response = api.as_user(inspector).post(FINDINGS, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def other_team(lead):
    """An inspector of another campaign (another team): may see nothing of `campaign`."""
    outsider = UserFactory(roles=["inspector"])
    campaign_make(lead=lead, members=[outsider], shops=1, path=("announce", "start_fieldwork"))
    return outsider


def media_files(settings) -> set[str]:
    root = settings.MEDIA_ROOT
    return {os.path.relpath(os.path.join(d, f), root) for d, _dirs, files in os.walk(root) for f in files}


def send_photo(client, finding_id, data: bytes, *, photo_id=None, name="IMG_0001.png"):
    started = time.perf_counter()
    response = client.post(PHOTOS, {"uuid": str(photo_id or uuid.uuid4()), "finding": str(finding_id),
                                    "file": upload(data, name, "image/png")}, format="multipart", headers=EN)
    return response, time.perf_counter() - started


def problem_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["code"]) == (status, code), body
    return body


def nothing_stored(settings, media_before: set[str], photos: int = 0) -> None:
    assert Photo.objects.count() == photos
    assert OutboxMessage.objects.filter(task_name="inspections.photo_thumbnail").count() == photos
    assert media_files(settings) == media_before


# --- 3. Photo bombs: who may send is settled before the file is opened ---------------------------------------


def test_the_spy_sees_a_real_decode_so_its_silence_below_means_something(api, inspector, finding, pillow, settings):
    """The control: a small valid photo from the team is opened and decoded, and the spy records both."""
    response, _seconds = send_photo(api.as_user(inspector), finding["uuid"], png())
    assert response.status_code == 201, response.content
    assert pillow["opened"] and any(kind == "decoder" for kind, *_rest in pillow["decoded"])


def test_a_bomb_for_a_finding_that_does_not_exist_is_409_before_the_file_is_opened(api, inspector, finding,
                                                                                   pillow, settings):
    before = media_files(settings)
    response, seconds = send_photo(api.as_user(inspector), uuid.uuid4(), png_bomb())
    body = problem_of(response, 409, "finding_not_received")
    assert "finding" in body
    assert pillow == {"opened": [], "decoded": []}
    assert seconds < FAST_SECONDS
    nothing_stored(settings, before)


def test_a_bomb_from_someone_off_the_team_is_403_before_the_file_is_opened(api, finding, other_team, pillow,
                                                                           settings):
    before = media_files(settings)
    response, seconds = send_photo(api.as_user(other_team), finding["uuid"], png_bomb())
    problem_of(response, 403, "not_on_team")
    assert pillow == {"opened": [], "decoded": []}
    assert seconds < FAST_SECONDS
    nothing_stored(settings, before)


def test_a_bomb_for_a_concluded_campaign_is_409_before_the_file_is_opened(api, lead, inspector, campaign, pillow,
                                                                         settings):
    from cases.services import case_transition
    from inspections.services import target_outcome_set

    target = campaign.targets.get()
    response = api.as_user(inspector).post(FINDINGS, finding_body(target, items_of(campaign)[0],
                                                                  result="not_applicable"), format="json")
    assert response.status_code == 201, response.content
    target_outcome_set(actor=lead, target_id=target.pk, outcome="compliant")
    case_transition(case_id=campaign.case_id, actor=lead, action="close_findings")
    case_transition(case_id=campaign.case_id, actor=lead, action="conclude", note="Kết luận: chấp hành tốt.")
    before = media_files(settings)
    response, _seconds = send_photo(api.as_user(inspector), response.json()["uuid"], png_bomb())
    problem_of(response, 409, "campaign_state")
    assert pillow == {"opened": [], "decoded": []}
    nothing_stored(settings, before)


@pytest.mark.parametrize(("make", "megapixels"), [
    (lambda: png_bomb(7000), 49),                       # the bomb: complete, 49 MP
    (lambda: png_header_claiming(8000, 7500), 60),      # a header claiming 60 MP
    (lambda: png_header_claiming(20000, 20000), None),  # 400 MP: Pillow itself refuses to open it
])
def test_a_bomb_from_the_team_is_refused_from_its_header_and_never_decoded(api, inspector, finding, pillow,
                                                                           settings, make, megapixels):
    data = make()
    before = media_files(settings)
    response, seconds = send_photo(api.as_user(inspector), finding["uuid"], data)
    body = problem_of(response, 400, "photo_invalid")
    assert body["max_pixels"] == 40_000_000
    message = body["errors"]["file"][0]
    assert "too many pixels" in message
    if megapixels:
        assert f"{megapixels} megapixels; at most 40" in message
    assert pillow["opened"]  # the header was read ...
    assert pillow["decoded"] == []  # ... and not a pixel decoded
    assert seconds < FAST_SECONDS
    nothing_stored(settings, before)


def test_the_pixel_limit_is_a_setting(api, inspector, finding, pillow, settings):
    settings.UPLOAD_MAX_PIXELS = 1000
    response, _seconds = send_photo(api.as_user(inspector), finding["uuid"], png((48, 32)))  # 1,536 pixels
    body = problem_of(response, 400, "photo_invalid")
    assert body["max_pixels"] == 1000
    assert pillow["decoded"] == []
    settings.UPLOAD_MAX_PIXELS = 2000
    response, _seconds = send_photo(api.as_user(inspector), finding["uuid"], png((48, 32)))
    assert response.status_code == 201, response.content


def test_a_used_photo_id_is_answered_without_decoding_the_file_sent(api, inspector, finding, pillow, settings):
    photo_id = uuid.uuid4()
    client = api.as_user(inspector)
    assert send_photo(client, finding["uuid"], png(), photo_id=photo_id)[0].status_code == 201
    pillow["opened"].clear()
    pillow["decoded"].clear()
    again, _seconds = send_photo(client, finding["uuid"], png(), photo_id=photo_id)
    assert again.status_code == 200
    bomb, _seconds = send_photo(client, finding["uuid"], png_bomb(), photo_id=photo_id)
    problem_of(bomb, 409, "photo_conflict")
    assert pillow == {"opened": [], "decoded": []}
    assert Photo.objects.count() == 1


# --- 3. Case files: the same limits, after the permission check -----------------------------------------------


@pytest.fixture
def case(officer):
    return case_make(actor=officer)


def send_file(client, case, data: bytes, name: str):
    return client.post(f"/api/v1/cases/{case.pk}/attachments/", {"file": upload(data, name, "application/octet-stream"),
                                                                 "description": "Hồ sơ"}, format="multipart",
                       headers=EN)


class Stored:
    """What the case holds before a request, to check that a refusal added nothing."""

    def __init__(self, case, settings):
        self.case, self.settings = case, settings
        self.attachments = set(Attachment.objects.values_list("pk", flat=True))
        self.events = CaseEvent.objects.filter(case=case).count()
        self.files = media_files(settings)

    def unchanged(self) -> None:
        assert set(Attachment.objects.values_list("pk", flat=True)) == self.attachments
        assert CaseEvent.objects.filter(case=self.case).count() == self.events
        assert media_files(self.settings) == self.files

    def new_attachment(self) -> Attachment:
        return Attachment.objects.exclude(pk__in=self.attachments).get()


def test_a_bomb_from_someone_who_may_not_add_files_is_refused_before_it_is_opened(api, reporter, case, pillow,
                                                                                  settings):
    before = Stored(case, settings)
    response = send_file(api.as_user(reporter), case, png_bomb(), "bom.png")
    assert response.status_code == 403, response.content[:300]
    assert response.json()["code"] == "permission"
    assert pillow == {"opened": [], "decoded": []}
    before.unchanged()


@pytest.mark.parametrize(("make", "says"), [
    (lambda: png_bomb(7000), "too large (49 megapixels)"),
    (lambda: png_header_claiming(8000, 7500), "too large (60 megapixels)"),
    (lambda: png_header_claiming(20000, 20000), "decompression bomb"),
])
def test_a_case_file_bomb_is_refused_from_its_header_and_never_decoded(api, officer, case, pillow, settings, make,
                                                                       says):
    before = Stored(case, settings)
    started = time.perf_counter()
    response = send_file(api.as_user(officer), case, make(), "ban-ve.png")
    seconds = time.perf_counter() - started
    body = problem_of(response, 400, "validation")
    assert says in body["errors"]["file"][0]
    assert body["max_pixels"] == 40_000_000
    assert pillow["decoded"] == []
    assert seconds < FAST_SECONDS
    before.unchanged()


# --- 4. Files are what they claim -------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "name", "says"), [
    (b"%PDF-1.4\n" + HTML, "don.pdf", "could not be read"),
    (b"%PDF-1.4\n" + HTML + b"%%EOF\n", "don.pdf", "could not be read"),
    (pdf_pages(1)[:-40] + HTML + b"%%EOF\n", "don.pdf", "could not be read"),  # its trailer replaced by a page
    (pdf_of([b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[2 0 R]/Count 1>>"]), "vong.pdf",
     "could not be read"),  # a page tree that contains itself
    (pdf_of([b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"]), "rong.pdf", "could not be read"),
    (pdf_of([b"[" * 50_000 + b"]" * 50_000]), "sau.pdf", "could not be read"),  # deeper than a parser's stack
    (pdf_encrypted("mat-khau"), "bao-mat.pdf", "protected by a password"),
])
def test_what_is_not_a_readable_pdf_is_refused(api, officer, case, settings, data, name, says):
    before = Stored(case, settings)
    body = problem_of(send_file(api.as_user(officer), case, data, name), 400, "validation")
    assert says in body["errors"]["file"][0], body
    before.unchanged()


def test_a_pdf_with_too_many_pages_is_refused_even_when_it_declares_fewer(api, officer, case, settings):
    settings.UPLOAD_PDF_MAX_PAGES = 5
    client = api.as_user(officer)
    before = Stored(case, settings)
    for data in (pdf_pages(6), pdf_pages(400, declared=1)):
        started = time.perf_counter()
        body = problem_of(send_file(client, case, data, "ban-thao.pdf"), 400, "validation")
        assert time.perf_counter() - started < FAST_SECONDS
        assert "too many pages (at most 5)" in body["errors"]["file"][0]
        assert body["max_pages"] == 5
    before.unchanged()
    assert send_file(client, case, pdf_pages(5), "ban-thao.pdf").status_code == 201


def test_a_pdf_readable_without_a_password_is_accepted(api, officer, case, settings):
    """Owner-only protection (no printing, no copying) is common on official PDFs: it opens without a password."""
    response = send_file(api.as_user(officer), case, pdf_encrypted(""), "cong-van.pdf")
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "application/pdf"


def test_bytes_after_a_pdf_are_not_stored(api, officer, case, settings):
    data = pdf_pages(2)
    before = Stored(case, settings)
    response = send_file(api.as_user(officer), case, data + HTML, "don.pdf")
    assert response.status_code == 201, response.content
    attachment = before.new_attachment()
    with attachment.file.open("rb") as stored:
        assert stored.read() == data
    assert response.json()["size"] == len(data)


def test_an_image_is_stored_encoded_again_without_what_followed_it_or_its_metadata(api, officer, case, settings):
    exif = Image.Exif()
    exif[0x010F] = "May quet cua phong"  # Make
    exif[0x010E] = "Toa do 20.4463129, 106.3421871"  # ImageDescription
    exif[0x0112] = 6  # orientation: shown upright the picture is 30 × 40
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "JPEG", exif=exif.tobytes(), comment=b"<b>ghi chu</b>")
    sent = out.getvalue() + HTML
    before = Stored(case, settings)
    response = send_file(api.as_user(officer), case, sent, "scan.jpg")
    assert response.status_code == 201, response.content
    attachment = before.new_attachment()
    with attachment.file.open("rb") as stored_file:
        stored = stored_file.read()
    for leftover in (b"<html", b"<script", b"May quet", b"Toa do", b"ghi chu"):
        assert leftover not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert (image.format, image.size) == ("JPEG", (30, 40))
        assert dict(image.getexif()) == {} and "comment" not in image.info
    assert response.json()["size"] == len(stored)


def jpeg_with_damaged_exif() -> bytes:
    """A JPEG whose EXIF orientation entry has a wrong type (found by fuzzing): Pillow's exif_transpose raises
    struct.error on it."""
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "x"
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, "JPEG", exif=exif.tobytes())
    data = bytearray(out.getvalue())
    data[data.index(b"Exif\x00\x00") + 17] = 3
    return bytes(data)


def test_an_image_with_a_damaged_exif_block_is_stored_without_it_not_a_500(api, officer, case, inspector, finding,
                                                                            settings):
    data = jpeg_with_damaged_exif()
    with Image.open(io.BytesIO(data)) as image, pytest.raises(struct.error):
        image.load()
        ImageOps.exif_transpose(image, in_place=True)  # what the orientation step meets
    response = send_file(api.as_user(officer), case, data, "scan.jpg")
    assert response.status_code == 201, response.content
    response, _seconds = send_photo(api.as_user(inspector), finding["uuid"], data, name="IMG.jpg")
    assert response.status_code == 201, response.content
    with Photo.objects.get().file.open("rb") as stored, Image.open(stored) as image:
        assert image.size in {(64, 48), (48, 64)} and dict(image.getexif()) == {}  # turned or not: no 500


def test_a_png_with_html_appended_is_stored_as_the_png_alone(api, officer, case, settings):
    picture = png()
    before = Stored(case, settings)
    response = send_file(api.as_user(officer), case, picture + HTML, "anh.png")
    assert response.status_code == 201, response.content
    with before.new_attachment().file.open("rb") as stored_file:
        stored = stored_file.read()
    assert b"<html" not in stored
    with Image.open(io.BytesIO(stored)) as stored_image, Image.open(io.BytesIO(picture)) as sent_image:
        assert stored_image.tobytes() == sent_image.tobytes()


@pytest.mark.parametrize(("sent", "data", "kept", "content_type"), [
    ("gnp.exe", png(), "gnp.png", "image/png"),
    ("\u202egnp.exe", png(), "gnp.png", "image/png"),
    ("hoa-don.html", pdf_pages(1), "hoa-don.pdf", "application/pdf"),
    ("scan", pdf_pages(1), "scan.pdf", "application/pdf"),
    ("IMG_2020.JPEG", image_bytes(), "IMG_2020.JPEG", "image/jpeg"),
    ("Biên bản; filename=x.exe", png(), "Biên bản; filename=x.png", "image/png"),
])
def test_the_name_kept_and_the_download_take_the_extension_of_the_type_found(api, officer, case, settings, sent,
                                                                             data, kept, content_type):
    client = api.as_user(officer)
    before = Stored(case, settings)
    response = send_file(client, case, data, sent)
    assert response.status_code == 201, response.content
    assert response.json()["original_name"] == kept
    attachment = before.new_attachment()
    assert attachment.file.name.endswith(attachment.extension)
    download = client.get(response.json()["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == content_type
    assert download["X-Content-Type-Options"] == "nosniff"
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    quoted = re.fullmatch(r'attachment; filename="([^"\\]*)"', disposition)  # plain ASCII, nothing to escape
    encoded = re.fullmatch(r"attachment; filename\*=utf-8''([A-Za-z0-9%._~-]*)", disposition)  # RFC 6266/5987
    assert quoted or encoded, disposition
    assert (quoted.group(1) if quoted else unquote(encoded.group(1))) == kept, disposition


def test_a_file_stored_before_names_followed_the_type_is_downloaded_under_its_type(api, officer, case, settings):
    """A row kept from before: the sender's `.exe` stays in the database, the download is named `.png`."""
    attachment = Attachment(case=case, original_name="gnp.exe", content_type="image/png", extension=".png",
                            size=len(png()), sha256="0" * 64, uploaded_by=officer)
    attachment.file.save("upload.png", ContentFile(png()), save=False)
    attachment.save()
    download = api.as_user(officer).get(f"/api/v1/cases/{case.pk}/attachments/{attachment.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="gnp.png"'


# --- 6. A conflict shows only what the caller may see -----------------------------------------------------------


def test_a_used_finding_id_shows_the_stored_finding_only_to_those_who_may_read_it(api, lead, inspector, campaign,
                                                                                 finding, other_team):
    stored = Finding.objects.get(pk=finding["uuid"])
    taken = {**finding_body(campaign.targets.get(), items_of(campaign)[2], note="Nội dung khác", latitude=10.5,
                            longitude=105.25), "uuid": finding["uuid"]}  # the sender's own content differs
    # Someone of another team: 409, the id is taken, and nothing of the stored finding.
    response = api.as_user(other_team).post(FINDINGS, taken, format="json", headers=EN)
    body = problem_of(response, 409, "finding_conflict")
    assert "stored" not in body
    assert body["sent"]["inspector"] == other_team.pk
    assert "may not see" in body["detail"]
    text = response.content.decode()
    for secret in (stored.note, "20.446313", "106.342187", f'"inspector": {inspector.pk}',
                   f'"inspector":{inspector.pk}', stored.fingerprint):
        assert secret not in text, secret
    # The same in a batch.
    batch = api.as_user(other_team).post(f"{FINDINGS}batch/", {"findings": [taken]}, format="json", headers=EN)
    item = batch.json()["results"][0]
    assert (item["status"], item["body"]["code"]) == (409, "finding_conflict")
    assert "stored" not in item["body"] and stored.note not in batch.content.decode()
    # The campaign's lead may read it: the stored version is shown.
    response = api.as_user(lead).post(FINDINGS, taken, format="json")
    body = problem_of(response, 409, "finding_conflict")
    assert body["stored"]["note"] == stored.note and body["stored"]["inspector"] == inspector.pk
    assert Finding.objects.get(pk=finding["uuid"]).fingerprint == stored.fingerprint


def test_a_used_photo_id_shows_the_stored_photo_only_to_those_who_may_read_it(api, lead, inspector, finding,
                                                                             other_team, pillow, settings):
    photo_id = uuid.uuid4()
    assert send_photo(api.as_user(inspector), finding["uuid"], png(), photo_id=photo_id)[0].status_code == 201
    stored = Photo.objects.get()
    before = media_files(settings)
    pillow["opened"].clear()
    # Someone of another team, with a random finding id: 409 (the id is taken), nothing of the stored photo.
    response, _seconds = send_photo(api.as_user(other_team), uuid.uuid4(), png_bomb(), photo_id=photo_id)
    body = problem_of(response, 409, "photo_conflict")
    assert "stored" not in body
    assert "may not see" in body["detail"]
    text = response.content.decode()
    assert stored.sha256 not in text and finding["uuid"] not in text and str(inspector.pk) not in json_values(body)
    assert pillow["opened"] == []
    # The lead may read it: the stored photo's details are shown.
    response, _seconds = send_photo(api.as_user(lead), finding["uuid"], png((10, 10)), photo_id=photo_id)
    body = problem_of(response, 409, "photo_conflict")
    assert body["stored"] == {"uuid": str(photo_id), "finding": finding["uuid"], "sha256": stored.sha256,
                              "uploaded_by": inspector.pk}
    assert Photo.objects.count() == 1 and media_files(settings) == before


def json_values(value) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(json_values(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(json_values(v) for v in value)) if value else set()
    return {str(value)}
