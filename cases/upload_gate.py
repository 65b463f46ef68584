"""A bulkhead for request bodies: at most UPLOAD_SLOTS requests that send a file are worked on at once by the whole
server (every gunicorn process and thread of this machine); the others wait, without using the CPU, for a slot.

Why: eight clients that send image bombs back to back (docs/PERFORMANCE.md §6) are each refused cheaply, but a
refused upload still costs the server some 7 ms of CPU (the body, the framework, the token, the lookups that decide
who may add the file), and eight of them that never pause keep every core busy: everyone else's requests then wait
their turn among theirs. With the uploads held to a share of the cores, the other requests keep the rest.

* **What is gated:** a POST, PUT or PATCH whose body is `multipart/form-data` or larger than
  UPLOAD_GATE_MIN_BYTES (256 KB): files from the counter, the tablets' photos, imports. Everything else (every
  GET, the JSON of transitions and the tablets' findings) passes straight through.
* **Slots:** lock files in UPLOAD_SLOTS_DIR held with `flock`, which the kernel releases if a process dies, and
  which separate threads of one process hold separately. Default: half the cores (at least one).
* **Waiting:** a request polls for a free slot (1 ms, growing to 20 ms) up to UPLOAD_SLOT_WAIT_SECONDS (20 s);
  past that it is answered 503 with Retry-After (problem JSON for the API, a short page in the user's language
  otherwise), before its body has been read: nothing is stored, and the client sends it again later (the tablets
  do, and their photos carry ids, so that a photo sent twice is stored once).
"""

import errno
import fcntl
import hashlib
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from cases.api.problems import PROBLEM_CONTENT_TYPE, problem

GATED_METHODS = frozenset({"POST", "PUT", "PATCH"})
RETRY_AFTER_SECONDS = 10


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def slots() -> int:
    value = getattr(settings, "UPLOAD_SLOTS", None)
    return max(1, int(value) if value else _cores() // 2)


def slots_dir() -> Path:
    """UPLOAD_SLOTS_DIR, or one directory per database in the system's temporary directory: the processes of one
    installation share their slots; two installations (or two test runs) on one machine do not."""
    configured = getattr(settings, "UPLOAD_SLOTS_DIR", "")
    if configured:
        return Path(configured)
    database = settings.DATABASES["default"]
    name = f"{database.get('HOST', '')}:{database.get('PORT', '')}/{database.get('NAME', '')}"
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"sttt-upload-slots-{digest}"


def is_gated(request) -> bool:
    if request.method not in GATED_METHODS:
        return False
    if request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data"):
        return True
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > getattr(settings, "UPLOAD_GATE_MIN_BYTES", 256 * 1024)


class NoSlot(Exception):
    """Every slot stayed taken for the whole wait."""


@contextmanager
def upload_slot(wait: float | None = None):
    """Holds one of the server's upload slots for the block; raises NoSlot if none frees within `wait` seconds."""
    wait = getattr(settings, "UPLOAD_SLOT_WAIT_SECONDS", 20) if wait is None else wait
    directory = slots_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    count = slots()
    deadline = time.monotonic() + wait
    pause = 0.001
    start = os.getpid() + time.monotonic_ns()  # spread first tries over the slots
    while True:
        for i in range(count):
            fd = os.open(directory / f"slot-{(start + i) % count}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                continue
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            return
        if time.monotonic() >= deadline:
            raise NoSlot
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.02)


def busy_response(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = problem(status_code=503, code="busy", title=_("The service is busy receiving files."),
                       detail=_("Too many files are being received right now. Send this one again in a few "
                                "seconds; nothing of it was stored."),
                       instance=request.get_full_path())
        response = JsonResponse(body, status=503, content_type=PROBLEM_CONTENT_TYPE)
    else:
        html = render_to_string("503.html", {
            "retry_after": RETRY_AFTER_SECONDS, "title": _("The service is busy receiving files"),
            "message": _("Too many files are being received right now. Nothing of what you sent was stored: go "
                         "back and send the form again in a few seconds.")})
        response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def body_spool(request) -> None:
    """Receives the whole body (into memory up to 1 MB, then a temporary file) before the request takes a slot, so
    that a client sending its file slowly holds a thread, never a slot. A body larger than UPLOAD_SPOOL_MAX_BYTES
    is left where it is: the view refuses it as it reads it."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length <= 0 or length > getattr(settings, "UPLOAD_SPOOL_MAX_BYTES", 64 * 1024 * 1024):
        return
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    remaining = length
    while remaining > 0:
        chunk = request._stream.read(min(remaining, 64 * 1024))
        if not chunk:
            break
        spool.write(chunk)
        remaining -= len(chunk)
    spool.seek(0)
    request._stream = LimitedStream(spool, length - remaining)
    request._spooled_body = spool  # closed with the request (below)


class UploadGateMiddleware:
    """Outermost but one: a gated request receives its body, then waits for its slot, before anything parses the
    body or reads the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_gated(request):
            return self.get_response(request)
        body_spool(request)
        try:
            return self._gated(request)
        finally:
            spool = getattr(request, "_spooled_body", None)
            if spool is not None:
                spool.close()

    def _gated(self, request):
        try:
            with upload_slot():
                return self.get_response(request)
        except NoSlot:
            return busy_response(request)
