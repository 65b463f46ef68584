"""The upload bulkhead (cases/upload_gate.py): requests that send files are worked on at most UPLOAD_SLOTS at once by
the whole server; the others wait for a slot, and past the wait get a 503 with Retry-After (problem JSON for the
API, a readable Vietnamese page otherwise), with nothing stored. Everything else never waits for them."""

import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from PIL import Image

from cases.models import Attachment
from cases.upload_gate import slots, slots_dir, upload_slot

from .factories import case_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_slot(settings, tmp_path):
    settings.UPLOAD_SLOTS = 1
    settings.UPLOAD_SLOT_WAIT_SECONDS = 0.3
    settings.UPLOAD_SLOTS_DIR = str(tmp_path / "slots")
    return tmp_path / "slots"


def png_file(name="anh.png") -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 40)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = name
    return buffer


def attachments(case) -> int:
    return Attachment.objects.filter(case=case).count()


def test_an_upload_waits_for_the_slot_then_gets_a_503_problem_and_nothing_is_stored(api, officer, one_slot):
    case = case_make(actor=officer)
    before = attachments(case)
    client = api.as_user(officer)
    url = f"/api/v1/cases/{case.pk}/attachments/"
    with upload_slot():
        started = time.monotonic()
        response = client.post(url, {"file": png_file(), "kind": "scan"}, format="multipart",
                               HTTP_ACCEPT_LANGUAGE="vi")
        waited = time.monotonic() - started
        # Requests that send no file pass while the slot is taken.
        assert client.get(f"/api/v1/cases/{case.pk}/").status_code == 200
        assert client.get("/api/v1/me/").status_code == 200
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/problem+json")
    assert response["Retry-After"] == "10"
    body = response.json()
    assert body["code"] == "busy" and body["status"] == 503
    assert "gửi lại" in body["detail"]  # Vietnamese: send it again
    assert waited >= 0.3
    assert attachments(case) == before
    # The slot free again, the same upload is stored.
    response = client.post(url, {"file": png_file(), "kind": "scan"}, format="multipart")
    assert response.status_code == 201, response.content
    assert attachments(case) == before + 1


def test_a_page_upload_gets_a_readable_vietnamese_page(client, officer, one_slot):
    case = case_make(actor=officer)
    before = attachments(case)
    client.force_login(officer)
    with upload_slot():
        response = client.post(f"/licensing/cases/{case.pk}/attachments/", {"file": png_file(), "kind": "scan"},
                               HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "10"
    page = response.content.decode()
    assert "Hệ thống đang bận nhận tệp" in page
    assert "không có gì trong nội dung bạn gửi được lưu" in page.lower()
    assert attachments(case) == before


def test_json_and_reads_are_never_gated(api, officer, one_slot):
    client = api.as_user(officer)
    with upload_slot():
        started = time.monotonic()
        assert client.get("/api/v1/cases/").status_code == 200
        assert client.post("/api/v1/cases/", {}, format="json").status_code in (400, 403, 405)
        assert time.monotonic() - started < 0.3


def test_a_large_json_body_counts_as_an_upload(api, officer, one_slot, settings):
    settings.UPLOAD_GATE_MIN_BYTES = 1000
    client = api.as_user(officer)
    with upload_slot():
        response = client.post("/api/v1/cases/", {"summary": "x" * 5000}, format="json")
    assert response.status_code == 503


def test_the_slots_are_shared_by_processes_and_freed_when_one_dies(api, officer, one_slot):
    """Another process (a second gunicorn worker) holding the only slot holds it for this one too; killed, the
    kernel releases it."""
    case = case_make(actor=officer)
    client = api.as_user(officer)
    url = f"/api/v1/cases/{case.pk}/attachments/"
    one_slot.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         f"fd = os.open({str(one_slot / 'slot-0')!r}, os.O_RDWR | os.O_CREAT, 0o600)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert client.post(url, {"file": png_file(), "kind": "scan"}, format="multipart").status_code == 503
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        assert client.post(url, {"file": png_file(), "kind": "scan"}, format="multipart").status_code == 201
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_never_more_holders_than_slots_and_every_waiter_gets_its_turn(settings, tmp_path):
    settings.UPLOAD_SLOTS = 2
    settings.UPLOAD_SLOT_WAIT_SECONDS = 30
    settings.UPLOAD_SLOTS_DIR = str(tmp_path / "slots")
    assert slots() == 2 and slots_dir() == tmp_path / "slots"
    inside, most, served = 0, 0, []
    lock = threading.Lock()

    def work(n):
        nonlocal inside, most
        with upload_slot():
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1
                served.append(n)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert most == 2
    assert sorted(served) == list(range(8))


def test_default_slots_are_half_the_cores_and_per_database(settings, monkeypatch):
    settings.UPLOAD_SLOTS = None
    settings.UPLOAD_SLOTS_DIR = ""
    assert slots() == max(1, len(os.sched_getaffinity(0)) // 2)
    first = slots_dir()
    monkeypatch.setitem(settings.DATABASES["default"], "NAME", "another_installation")
    assert slots_dir() != first
