"""Photos from the tablets: only real images of a sane size, re-encoded without their metadata, stored once per
content, with a thumbnail made by the worker."""

import io
import os
import uuid

import pytest
from PIL import Image

from inspections import tasks
from inspections.models import Photo
from worker.models import OutboxMessage

from .conftest import wait_for
from .support_concurrency import run_together, token_client
from .support_inspections import campaign_make, checklists_load, finding_body, image_bytes, items_of, upload

FINDINGS = "/api/v1/inspections/findings/"
PHOTOS = "/api/v1/inspections/photos/"


@pytest.fixture(autouse=True)
def checklists(catalogue):
    checklists_load()


@pytest.fixture
def finding(api, lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    body = finding_body(campaign.targets.get(), items_of(campaign)[2], result="violation", note="Sổ ghi chép thiếu")
    response = api.as_user(inspector).post(FINDINGS, body, format="json")
    assert response.status_code == 201
    return response.json()


def send(client, finding_id, data: bytes, *, photo_id=None, name="IMG_0001.jpg", content_type="image/jpeg"):
    # In English: the messages checked here are the source texts, whatever the translations say.
    return client.post(PHOTOS, {"uuid": str(photo_id or uuid.uuid4()), "finding": finding_id,
                                "file": upload(data, name, content_type)}, format="multipart",
                       headers={"accept-language": "en"})


def stored_files(settings) -> list[str]:
    root = settings.MEDIA_ROOT / "inspections" / "photos"
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files]


def bomb(width: int, height: int) -> bytes:
    """A PNG of a few kilobytes that would decode to width × height pixels."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


# --- Refused -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("data", "name", "content_type", "says"), [
    (b"Bien ban kiem tra, khong phai anh", "photo.jpg", "image/jpeg", "not a photo"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "scan.jpg", "image/jpeg", "not a photo"),
    (image_bytes()[:200], "cut.jpg", "image/jpeg", "not a photo"),
    (b"", "empty.jpg", "image/jpeg", "empty"),
])
def test_what_is_not_an_image_is_refused_with_a_clear_400(api, inspector, finding, settings, data, name,
                                                          content_type, says):
    response = send(api.as_user(inspector), finding["uuid"], data, name=name, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] in {"photo_invalid", "validation"}
    assert says in " ".join(problem["errors"]["file"]).lower()
    assert not Photo.objects.exists()
    assert stored_files(settings) == []


@pytest.mark.django_db
def test_a_photo_larger_than_the_limit_is_refused(api, inspector, finding, settings):
    data = image_bytes()[:4] + os.urandom(10 * 1024 * 1024)  # 10 MB and a little more
    response = send(api.as_user(inspector), finding["uuid"], data)
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "photo_invalid"
    assert problem["limit_bytes"] == 10 * 1024 * 1024
    assert "larger than" in problem["errors"]["file"][0]
    assert not Photo.objects.exists()


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's own note on the 81 MP one
@pytest.mark.parametrize("size", [
    (12_000, 12_000),  # 144 megapixels: Pillow itself calls it a bomb
    (9_000, 9_000),    # 81 megapixels: our limit (UPLOAD_MAX_PIXELS, 40) refuses it before decoding
])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(api, inspector, finding, settings, size):
    data = bomb(*size)
    assert len(data) < 50_000
    response = send(api.as_user(inspector), finding["uuid"], data, name="bomb.png", content_type="image/png")
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "photo_invalid"
    assert "too many pixels" in problem["errors"]["file"][0]
    assert problem["max_pixels"] == 40_000_000
    assert not Photo.objects.exists()


@pytest.mark.django_db
def test_a_photo_of_a_finding_not_yet_received_is_409_so_the_tablet_sends_the_finding_first(api, inspector, finding):
    response = send(api.as_user(inspector), str(uuid.uuid4()), image_bytes())
    assert response.status_code == 409
    assert response.json()["code"] == "finding_not_received"


@pytest.mark.django_db
def test_only_the_team_adds_photos(api, finding):
    from .factories import UserFactory

    response = send(api.as_user(UserFactory(roles=["inspector"])), finding["uuid"], image_bytes())
    assert response.status_code == 403
    assert response.json()["code"] == "not_on_team"


# --- Stored once, re-encoded -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_photo_sent_twice_is_stored_once(api, inspector, finding, settings):
    client = api.as_user(inspector)
    data = image_bytes(color=(10, 120, 200))
    photo_id = uuid.uuid4()
    first = send(client, finding["uuid"], data, photo_id=photo_id)
    again = send(client, finding["uuid"], data, photo_id=photo_id)  # a retry of the same upload
    other_id = send(client, finding["uuid"], data)  # the same picture queued twice on the tablet
    assert (first.status_code, again.status_code, other_id.status_code) == (201, 200, 200)
    assert first.json() == again.json() == other_id.json()
    assert first.json()["uuid"] == str(photo_id)
    assert Photo.objects.count() == 1
    assert len(stored_files(settings)) == 1
    # The thumbnail is queued once, by the upload that stored the photo.
    assert OutboxMessage.objects.filter(task_name="inspections.photo_thumbnail").count() == 1
    # Another picture of the same finding is a second photo.
    assert send(client, finding["uuid"], image_bytes(color=(0, 0, 0))).status_code == 201
    assert Photo.objects.count() == 2


@pytest.mark.django_db
def test_a_used_photo_id_with_another_picture_is_409(api, inspector, finding):
    client = api.as_user(inspector)
    photo_id = uuid.uuid4()
    assert send(client, finding["uuid"], image_bytes(color=(1, 2, 3)), photo_id=photo_id).status_code == 201
    response = send(client, finding["uuid"], image_bytes(color=(200, 200, 3)), photo_id=photo_id)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "photo_conflict"
    assert body["stored"]["sha256"] != body["sent"]["sha256"]
    assert Photo.objects.count() == 1


@pytest.mark.django_db
def test_the_stored_photo_is_an_upright_jpeg_without_metadata_under_a_generated_name(api, inspector, finding):
    original = Image.new("RGB", (64, 48), (250, 250, 0))
    exif = Image.Exif()
    exif[0x010F] = "Tablet maker"
    exif[0x0112] = 6  # orientation: the camera was turned; shown upright the photo is 48 × 64
    out = io.BytesIO()
    original.save(out, "JPEG", exif=exif.tobytes())
    response = send(api.as_user(inspector), finding["uuid"], out.getvalue(), name="../../etc/IMG 1.jpg")
    assert response.status_code == 201
    photo = Photo.objects.get()
    assert photo.file.name.endswith(f"/{photo.pk}.jpg") and ".." not in photo.file.name
    with photo.file.open("rb") as stored, Image.open(stored) as image:
        assert image.format == "JPEG"
        assert image.size == (48, 64) == (photo.width, photo.height)
        assert dict(image.getexif()) == {}
    assert response.json()["thumbnail_url"] is None  # the task makes it after commit


@pytest.mark.django_db
def test_a_png_with_transparency_becomes_a_jpeg(api, inspector, finding):
    out = io.BytesIO()
    Image.new("RGBA", (30, 20), (0, 0, 0, 0)).save(out, "PNG")
    response = send(api.as_user(inspector), finding["uuid"], out.getvalue(), name="x.png", content_type="image/png")
    assert response.status_code == 201
    with Photo.objects.get().file.open("rb") as stored, Image.open(stored) as image:
        assert (image.format, image.mode, image.getpixel((0, 0))) == ("JPEG", "RGB", (255, 255, 255))


@pytest.mark.django_db
def test_the_thumbnail_task_run_twice_makes_one_thumbnail(api, inspector, finding, settings):
    response = send(api.as_user(inspector), finding["uuid"], image_bytes(size=(1200, 900)))
    photo = Photo.objects.get(pk=response.json()["uuid"])
    tasks.photo_thumbnail(photo_id=str(photo.pk))
    photo.refresh_from_db()
    first_name = photo.thumbnail.name
    tasks.photo_thumbnail(photo_id=str(photo.pk))
    photo.refresh_from_db()
    assert photo.thumbnail.name == first_name
    thumbnails = list((settings.MEDIA_ROOT / "inspections" / "thumbnails").rglob("*.jpg"))
    assert len(thumbnails) == 1
    with Image.open(thumbnails[0]) as image:
        assert image.size == (320, 240)
    tasks.photo_thumbnail(photo_id=str(uuid.uuid4()))  # a photo that is gone: nothing to do, no error


# --- Concurrency and the real worker ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_photo_sent_at_once_under_two_ids_is_stored_once(lead, inspector, settings):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    client = token_client(inspector)
    finding = client.post(FINDINGS, finding_body(campaign.targets.get(), items_of(campaign)[0]), format="json").json()
    data = image_bytes(color=(90, 90, 90))

    results = run_together([lambda: send(token_client(inspector), finding["uuid"], data).status_code
                            for _ in range(4)])
    assert sorted(results) == [200, 200, 200, 201], results
    assert Photo.objects.count() == 1
    assert len(stored_files(settings)) == 1


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_makes_the_thumbnail_after_commit(celery_worker, lead, inspector):
    campaign = campaign_make(lead=lead, members=[inspector], shops=1, path=("announce", "start_fieldwork"))
    client = token_client(inspector)
    finding = client.post(FINDINGS, finding_body(campaign.targets.get(), items_of(campaign)[0]), format="json").json()
    response = send(client, finding["uuid"], image_bytes(size=(800, 1200)))
    assert response.status_code == 201
    photo_id = response.json()["uuid"]

    wait_for(lambda: Photo.objects.filter(pk=photo_id).exclude(thumbnail="").exists(), timeout=30,
             message="the worker to make the thumbnail")
    detail = client.get(f"{PHOTOS}{photo_id}/").json()
    assert detail["thumbnail_url"].endswith(f"/api/v1/inspections/photos/{photo_id}/thumbnail/")
    thumbnail = client.get(detail["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(thumbnail.streaming_content))) as image:
        assert image.size == (213, 320)
    message = OutboxMessage.objects.get(task_name="inspections.photo_thumbnail")
    wait_for(lambda: OutboxMessage.objects.filter(pk=message.pk, done_at__isnull=False).exists(), timeout=10,
             message="the outbox message to be marked done")
