"""DOCX → PDF/A-2b with LibreOffice kept warm: ``pdf_from_docx(docx, timeout=60) -> bytes``.

The PDF comes from the same DOCX the service issues (one definition per document, rendered by
``licensing.documents`` or ``inspections.documents``), exported by LibreOffice Writer as PDF/A-2b
(``SelectPdfVersion=2``: XMP ``pdfaid:part`` 2, ``pdfaid:conformance`` B, every font embedded as a subset).
Times New Roman is not on the machine; fontconfig (fonts-liberation's metric aliases) and LibreOffice's own
replacement table give Liberation Serif, whose glyphs have Times New Roman's advance widths (so the layout is
Word's to within LibreOffice's own layout differences).

How LibreOffice is kept warm
    One converter per process, started on first use: a small worker process run by Debian's ``/usr/bin/python3``
    (the interpreter python3-uno belongs to; ``DOCUMENTS_UNO_PYTHON``) that starts ``soffice --headless`` and
    converts with unoserver's ``UnoConverter`` (the venv's unoserver package, put on the worker's path alone: the
    rest of the venv never enters Debian's interpreter). The worker and this process talk over the worker's
    stdin/stdout (length-prefixed frames), and LibreOffice listens on a named UNO pipe, not a TCP port; each
    converter has its own temporary directory holding its LibreOffice user profile, its pipe name and its log.
    So nothing is shared between processes: two pytest-xdist workers, several gunicorn workers and Celery
    workers each get their own LibreOffice, with no port to pick and no profile lock to fight over.

    unoserver's own XML-RPC server (``unoserver --port … --uno-port …``) was measured too: it converts as fast
    (0.15 s a document here), but it listens only after a fixed 5 s sleep in ``UnoServer.start`` (ready after
    5.2 s, against 1.3-1.6 s for the worker here), needs two free TCP ports per process (a port found free by one
    process can be taken by another before LibreOffice binds it, and then the client talks to someone else's
    LibreOffice) and outlives a killed parent. The worker here is ready as soon as LibreOffice accepts the pipe
    and exits when its parent goes (its stdin closes, or the parent is killed mid-conversion and the finished
    document meets a broken pipe), killing LibreOffice and removing its profile and LibreOffice's socket files.

    A lock makes the threads of one process take turns (LibreOffice converts one document at a time anyway);
    waiting for it counts against the caller's timeout. If LibreOffice or the worker has died (killed, crashed),
    the converter is started again and the document tried once more. A conversion that outlives its timeout
    kills the worker's whole process group (worker, oosplash, soffice.bin) and raises :class:`PdfRenderError`;
    the next call starts afresh. A document LibreOffice cannot read raises :class:`PdfRenderError` at once.
    The converter is restarted after ``DOCUMENTS_PDF_RESTART_AFTER`` documents, so LibreOffice's memory stays
    bounded in long-lived gunicorn and Celery workers. When the warm converter cannot exist on this machine at
    all (no python3-uno, no unoserver), each call falls back to a cold ``soffice --convert-to``.

Measured on this machine (2 cores shared with two other developers' test runs, load 2.7-3; LibreOffice 7.4.7;
one-page licences of ``licensing.documents``; ``python -m bench.pdf_render``, warm and cold in the same run):
    warm (this module): p50 0.105 s, p95 0.19 s per document, 7.7 PDFs/s over 200 licences in one process (one
    restart included), 13.1 PDFs/s with two processes side by side (``--processes 2``); before documents were
    loaded with Hidden=True: p50 0.21-0.29 s, 3.4-4.6 PDFs/s (7.3 with two processes). On a quiet machine
    (load < 1), without Hidden: 0.12 s.
    cold (``soffice --headless --convert-to pdf`` per document, a fresh profile each time): 1.41 s mean
    (1.0-1.2 s on a quiet machine; 0.9 s with a profile kept between calls).
    first call of a process (LibreOffice starting with a new profile, then the document): 1.3-1.9 s.
    LibreOffice's resident memory grows about 0.5 MB a document (140-150 MB started, 255 MB after 200).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

__all__ = ["PdfRenderError", "pdf_from_docx"]

logger = logging.getLogger(__name__)

# writer_pdf_Export's FilterData: 2 = PDF/A-2b (LibreOffice 7.x: 1 = PDF/A-1b, 2 = PDF/A-2b, 3 = PDF/A-3b).
PDF_FILTER = "writer_pdf_Export"
PDF_FILTER_OPTIONS = ["SelectPdfVersion=2"]
DOCX_IMPORT_FILTER = "MS Word 2007 XML"  # read as Word, never guessed (random bytes would open as plain text)
START_TIMEOUT = 60.0  # seconds for a worker to have LibreOffice accepting its pipe
_HEADER = struct.Struct(">cQ")  # worker → parent: kind, payload length
_LENGTH = struct.Struct(">Q")  # parent → worker: document length (0: quit)
_UNO_UNAVAILABLE = 3  # the worker's exit status when Debian's python cannot import uno or unoserver


class PdfRenderError(Exception):
    """The DOCX could not be turned into a PDF (unreadable document, LibreOffice failed, or timed out)."""


class _ConverterGone(Exception):
    """The worker or its LibreOffice died; the converter is started again."""


class _WarmUnavailable(Exception):
    """The warm converter cannot run on this machine (python3-uno or unoserver missing)."""


def _settings() -> dict:
    """DOCUMENTS_* from Django's settings; the defaults when there are none (a script without Django)."""
    values = {"soffice": "soffice", "uno_python": "/usr/bin/python3", "work_dir": "", "restart_after": 200}
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        try:
            values["soffice"] = getattr(settings, "DOCUMENTS_SOFFICE", values["soffice"])
        except ImproperlyConfigured:  # (no DJANGO_SETTINGS_MODULE)
            return values
    except ImportError:
        return values
    values["uno_python"] = getattr(settings, "DOCUMENTS_UNO_PYTHON", values["uno_python"])
    values["work_dir"] = getattr(settings, "DOCUMENTS_PDF_WORK_DIR", values["work_dir"])
    values["restart_after"] = getattr(settings, "DOCUMENTS_PDF_RESTART_AFTER", values["restart_after"])
    return values


def pdf_from_docx(docx: bytes, *, timeout: float = 60) -> bytes:
    """The PDF/A-2b of a DOCX, fonts embedded, from this process's warm LibreOffice.

    Safe from several threads (they take turns) and processes (each has its own LibreOffice). Raises
    :class:`PdfRenderError` when the document cannot be read, LibreOffice fails, or ``timeout`` seconds pass
    (waiting for another thread's conversion included).
    """
    if not isinstance(docx, (bytes, bytearray)) or not docx:
        raise PdfRenderError("no DOCX bytes to convert")
    deadline = time.monotonic() + timeout
    converter = _converter()
    if converter is None:
        return _pdf_from_docx_cold(bytes(docx), deadline=deadline)
    try:
        return converter.convert(bytes(docx), deadline=deadline)
    except _WarmUnavailable as exc:
        logger.warning("LibreOffice cannot be kept warm (%s); converting with a cold soffice per document", exc)
        _warm_unavailable(str(exc))
        return _pdf_from_docx_cold(bytes(docx), deadline=deadline)


# --- The converter of this process -------------------------------------------------------------------------

_state_lock = threading.Lock()
_state: dict = {"pid": None, "converter": None, "unavailable": None}


def _converter() -> _WarmConverter | None:
    """This process's converter (made on first use; a forked child makes its own), None when unavailable."""
    with _state_lock:
        if _state["pid"] != os.getpid():
            _state.update(pid=os.getpid(), converter=_WarmConverter(), unavailable=None)
        if _state["unavailable"]:
            return None
        return _state["converter"]


def _warm_unavailable(reason: str) -> None:
    with _state_lock:
        _state["unavailable"] = reason


def _after_fork_in_child() -> None:
    # The parent's worker stays the parent's: forget it without stopping it, and let go of its pipes so that its
    # stdin still closes when the parent exits. (A lock another thread held at the fork would stay held: anew.)
    global _state_lock
    _state_lock = threading.Lock()
    converter = _state.get("converter")
    if converter is not None:
        converter.forget()
    _state.update(pid=None, converter=None, unavailable=None)


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _stop_at_exit() -> None:
    converter = _state.get("converter")
    if converter is not None and _state.get("pid") == os.getpid():
        converter.stop()


class _WarmConverter:
    """One worker process (Debian's python3 + unoserver's UnoConverter) and its LibreOffice."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen | None = None
        self.directory: Path | None = None
        self.pipe: str | None = None
        self.office_pid: int | None = None
        self.sockets: list[str] = []  # the socket files LibreOffice made in /tmp (its named pipes)
        self.converted = 0
        self.starts = 0  # LibreOffices this converter has started (restarts included)

    # Public to tests and the benchmark: the worker's and LibreOffice's process ids (None when not running).
    @property
    def worker_pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def convert(self, docx: bytes, *, deadline: float) -> bytes:
        if not self.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise PdfRenderError("timed out waiting for this process's LibreOffice (busy with other documents)")
        try:
            restart_after = _settings()["restart_after"]
            if restart_after and self.converted >= restart_after:
                self.stop()
            for attempt in (1, 2):
                if self.process is None or self.process.poll() is not None:
                    self.stop()
                    self._start(deadline)
                try:
                    pdf = self._exchange(docx, deadline)
                    self.converted += 1
                    return pdf
                except (_ConverterGone, OSError, ValueError, struct.error) as exc:  # (pipes closed under us)
                    logger.warning("LibreOffice converter died (%s); starting it again", exc)
                    self.stop()
                    if attempt == 2 or time.monotonic() >= deadline:
                        raise PdfRenderError(f"LibreOffice died while converting: {exc}") from None
            raise AssertionError("unreachable")
        finally:
            self.lock.release()

    def _start(self, deadline: float) -> None:
        options = _settings()
        try:
            import unoserver
        except ImportError as exc:
            raise _WarmUnavailable(f"unoserver is not installed: {exc}") from None
        uno_python = shutil.which(options["uno_python"])
        soffice = shutil.which(options["soffice"])
        if uno_python is None:
            raise _WarmUnavailable(f"no {options['uno_python']} (the python of python3-uno)")
        if soffice is None:
            raise PdfRenderError(f"LibreOffice not found: {options['soffice']!r} (DOCUMENTS_SOFFICE)")
        try:
            directory = Path(tempfile.mkdtemp(prefix="sttt-pdf-", dir=options["work_dir"] or None))
            # Only unoserver goes onto the worker's path, not the venv's site-packages.
            (directory / "lib").mkdir()
            (directory / "lib" / "unoserver").symlink_to(Path(unoserver.__file__).resolve().parent)
            (directory / "profile").mkdir()
            (directory / "tmp").mkdir()
        except OSError as exc:
            raise PdfRenderError(f"cannot make the converter's directory (DOCUMENTS_PDF_WORK_DIR): {exc}") from None
        bootstrap = (
            "import runpy, sys; sys.path.insert(0, sys.argv[1]); "
            "runpy.run_path(sys.argv[2], run_name='__sttt_uno_worker__')"
        )
        pipe = f"sttt-pdf-{os.getpid()}-{uuid.uuid4().hex}"
        arguments = [uno_python, "-E", "-s", "-c", bootstrap, str(directory / "lib"), str(Path(__file__).resolve()),
                     soffice, str(directory), pipe]
        log = open(directory / "worker.log", "wb")
        try:
            # Its own session: the worker, oosplash and soffice.bin form one process group, killed together.
            process = subprocess.Popen(arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                       cwd=directory, start_new_session=True, close_fds=True)
        except OSError as exc:
            shutil.rmtree(directory, ignore_errors=True)
            raise _WarmUnavailable(f"cannot run {uno_python}: {exc}") from None
        finally:
            log.close()
        self.process, self.directory, self.pipe, self.converted = process, directory, pipe, 0
        self.starts += 1
        os.set_blocking(process.stdin.fileno(), False)
        try:
            kind, payload = self._read_frame(min(deadline, time.monotonic() + START_TIMEOUT))
        except _ConverterGone:
            status = process.wait()
            reason = self._log_tail()
            self.stop()
            if status == _UNO_UNAVAILABLE:
                raise _WarmUnavailable(reason) from None
            raise PdfRenderError(f"LibreOffice did not start (exit status {status}): {reason}") from None
        if kind != b"R":
            self.stop()
            raise PdfRenderError(f"LibreOffice worker answered {kind!r} instead of ready")
        ready = json.loads(payload)
        self.office_pid, self.sockets = ready["office_pid"], ready["sockets"]

    def _exchange(self, docx: bytes, deadline: float) -> bytes:
        self._write(_LENGTH.pack(len(docx)) + docx, deadline)
        kind, payload = self._read_frame(deadline)
        if kind == b"P":
            return payload
        if kind == b"E":
            raise PdfRenderError(f"LibreOffice could not convert the document: {payload.decode(errors='replace')}")
        if kind == b"D":
            raise _ConverterGone(payload.decode(errors="replace"))
        raise _ConverterGone(f"unexpected answer {kind!r}")

    def _write(self, data: bytes, deadline: float) -> None:
        fd = self.process.stdin.fileno()
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._timed_out()
            if not _ready(fd, select.POLLOUT, remaining):
                continue
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError) as exc:
                raise _ConverterGone(f"worker gone ({exc})") from None

    def _read_exactly(self, size: int, deadline: float) -> bytes:
        fd = self.process.stdout.fileno()
        chunks, missing = [], size
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._timed_out()
            if not _ready(fd, select.POLLIN, remaining):
                continue
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                raise _ConverterGone("worker exited")
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def _read_frame(self, deadline: float) -> tuple[bytes, bytes]:
        kind, length = _HEADER.unpack(self._read_exactly(_HEADER.size, deadline))
        return kind, self._read_exactly(length, deadline)

    def _timed_out(self):
        # LibreOffice may be stuck in the document: nothing of this worker can be trusted any more.
        starting, log = self.office_pid is None, self._log_tail()
        self.stop()
        if starting:
            raise PdfRenderError(f"LibreOffice did not start in time: {log}")
        raise PdfRenderError("LibreOffice did not finish the PDF in time (the converter was stopped)")

    def _log_tail(self) -> str:
        try:
            text = (self.directory / "worker.log").read_text(errors="replace")
        except (OSError, TypeError):
            return "(no log)"
        return " | ".join(text.strip().splitlines()[-5:]) or "(empty log)"

    def stop(self) -> None:
        """Kill the worker's process group (worker, LibreOffice) and remove its directory."""
        process, directory, pipe, sockets = self.process, self.directory, self.pipe, self.sockets
        self.process, self.directory, self.pipe, self.office_pid, self.sockets = None, None, None, None, []
        if process is not None:
            for stream in (process.stdin, process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                # Frozen first, so that LibreOffice's socket files (unknown when it never got ready) can be read
                # from its descriptors before it dies.
                os.killpg(process.pid, signal.SIGSTOP)
                sockets = sockets + [path for pid, name in _group_processes(process.pid).items()
                                     if name == "soffice.bin" for path in _socket_files(pid)]
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                logger.error("LibreOffice worker %s did not exit after SIGKILL", process.pid)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        if pipe is not None:
            _pipe_sockets_remove(pipe, sockets)

    def forget(self) -> None:
        """In a forked child: close the inherited pipes, leave the parent's worker running."""
        if self.process is not None:
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        self.process = self.directory = self.pipe = None


def _ready(fd: int, event: int, timeout: float) -> bool:
    """Whether fd is ready for event (or closed) within timeout seconds (poll: no limit on fd numbers)."""
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(max(0, int(timeout * 1000))))


def _pipe_sockets_remove(pipe: str | None, sockets: list[str]) -> None:
    """A killed LibreOffice leaves its named pipes behind: socket files in /tmp, OSL_PIPE_<uid>_<name> for the
    pipe we gave it and OSL_PIPE_<uid>_SingleOfficeIPC_<hash of the profile> for its own."""
    paths = {os.path.join(folder, f"OSL_PIPE_{os.getuid()}_{pipe}") for folder in ("/tmp", "/var/tmp") if pipe}
    paths.update(path for path in sockets if os.path.basename(path).startswith(f"OSL_PIPE_{os.getuid()}_"))
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


def _group_processes(group: int) -> dict[int, str]:
    """The live processes of a process group (pid → name), from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
        except OSError:
            continue
        name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        if int(fields[2]) == group and fields[0] != "Z":
            found[int(entry)] = name
    return found


def _socket_files(pid: int) -> list[str]:
    """The paths of the Unix sockets a process listens on (its fds' inodes looked up in /proc/net/unix)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        with open("/proc/net/unix") as table:
            rows = [line.split() for line in table.read().splitlines()[1:]]
    except OSError:
        return []
    return sorted({row[7] for row in rows if len(row) >= 8 and row[6] in inodes and row[7].startswith("/")})


# --- Cold conversion (the fallback, and the benchmark's comparison) -------------------------------------

def _pdf_from_docx_cold(docx: bytes, *, deadline: float) -> bytes:
    """One ``soffice --headless --convert-to`` run with a fresh profile: about a second per document."""
    options = _settings()
    soffice = shutil.which(options["soffice"])
    if soffice is None:
        raise PdfRenderError(f"LibreOffice not found: {options['soffice']!r} (DOCUMENTS_SOFFICE)")
    with tempfile.TemporaryDirectory(prefix="sttt-pdf-cold-", dir=options["work_dir"] or None) as tmp:
        directory = Path(tmp)
        (directory / "document.docx").write_bytes(docx)
        export = PDF_FILTER + ":" + json.dumps(
            {"SelectPdfVersion": {"type": "long", "value": PDF_FILTER_OPTIONS[0].split("=")[1]}})
        profile = (directory / "profile").as_uri()
        arguments = [soffice, "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
                     "--nofirststartwizard", "--norestore", f"-env:UserInstallation={profile}",
                     f"--infilter={DOCX_IMPORT_FILTER}", "--convert-to", f"pdf:{export}",
                     "--outdir", str(directory / "out"), str(directory / "document.docx")]
        process = subprocess.Popen(arguments, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, cwd=directory, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            sockets = [path for pid, name in _group_processes(process.pid).items() if name == "soffice.bin"
                       for path in _socket_files(pid)]
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            _pipe_sockets_remove(None, sockets)
            raise PdfRenderError("LibreOffice did not finish the PDF in time") from None
        result = directory / "out" / "document.pdf"
        if process.returncode or not result.exists():
            message = output.decode(errors="replace").strip()
            raise PdfRenderError(f"LibreOffice could not convert the document: {message or process.returncode}")
        return result.read_bytes()


# --- The worker (run by Debian's python3, see _WarmConverter._start) --------------------------------------

def _worker_main(soffice: str, directory: str, pipe: str) -> int:  # pragma: no cover - runs in the worker
    out = os.fdopen(os.dup(1), "wb", buffering=0)  # frames go to the parent through a private copy of stdout;
    os.dup2(2, 1)  # whatever LibreOffice or UNO prints lands in the log instead
    stdin = os.fdopen(0, "rb", buffering=0)

    class ParentGone(Exception):
        """Our stdout's reader is gone: the parent died (killed) while we worked."""

    def send(kind: bytes, payload: bytes = b"") -> None:
        try:
            out.write(_HEADER.pack(kind, len(payload)) + payload)
        except BrokenPipeError as exc:
            raise ParentGone from exc

    def read_exactly(size: int) -> bytes:
        chunks, missing = [], size
        while missing:
            chunk = stdin.read(missing)
            if not chunk:
                return b""
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    try:
        import uno
        from com.sun.star.beans import PropertyValue
        from com.sun.star.connection import NoConnectException
        from unoserver import converter
    except ImportError as exc:
        print(f"cannot import uno/unoserver in {sys.executable}: {exc}", file=sys.stderr)
        return _UNO_UNAVAILABLE

    class HiddenLoads:
        """The desktop, loading every document with Hidden=True: a third less time per document, headless or not
        (measured: 105-115 ms instead of 155-160 ms to load a licence)."""

        def __init__(self, desktop) -> None:
            self._desktop = desktop

        def loadComponentFromURL(self, url, frame, flags, properties):  # noqa: N802 (UNO's name)
            hidden = PropertyValue(Name="Hidden", Value=True)
            return self._desktop.loadComponentFromURL(url, frame, flags, (*tuple(properties), hidden))

        def __getattr__(self, name):
            return getattr(self._desktop, name)

    class PipeConverter(converter.UnoConverter):
        """unoserver's converter, connected through a named pipe instead of a TCP port."""

        def __init__(self, pipe_name: str, temp_dir: str) -> None:
            self.local_context = uno.getComponentContext()
            self.resolver = self.local_context.ServiceManager.createInstanceWithContext(
                "com.sun.star.bridge.UnoUrlResolver", self.local_context)
            self.context = self.resolver.resolve(f"uno:pipe,name={pipe_name};urp;StarOffice.ComponentContext")
            self.service = self.context.ServiceManager
            self.desktop = HiddenLoads(
                self.service.createInstanceWithContext("com.sun.star.frame.Desktop", self.context))
            self.filter_service = self.service.createInstanceWithContext(
                "com.sun.star.document.FilterFactory", self.context)
            self.type_service = self.service.createInstanceWithContext(
                "com.sun.star.document.TypeDetection", self.context)
            self.temp_dir = temp_dir
            self._export_filters = None
            self._import_filters = None

    base = Path(directory)
    office = subprocess.Popen(
        [soffice, "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo", "--nofirststartwizard",
         "--norestore", f"-env:UserInstallation={(base / 'profile').as_uri()}",
         f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
        stdin=subprocess.DEVNULL, stdout=2, stderr=2, cwd=directory)
    # Whatever ends this worker, LibreOffice ends with it: a parent killed mid-conversion (our next frame meets a
    # broken pipe) is cleaned up as one that closed our stdin; any other way out kills LibreOffice first.
    sockets: list[str] = []
    try:
        conv = None
        started = time.monotonic()
        while conv is None:
            if office.poll() is not None:
                print(f"soffice exited with status {office.returncode} before accepting connections", file=sys.stderr)
                return 1
            try:
                conv = PipeConverter(pipe, str(base / "tmp"))
            except NoConnectException:
                if time.monotonic() - started > START_TIMEOUT:
                    print("soffice did not accept connections in time", file=sys.stderr)
                    _worker_group_kill(office)
                    return 1
                time.sleep(0.05)
        offices = [pid for pid, name in _group_processes(os.getpgrp()).items() if name == "soffice.bin"]
        office_pid = offices[0] if offices else office.pid
        sockets = _socket_files(office_pid)
        send(b"R", json.dumps({"office_pid": office_pid, "sockets": sockets}).encode())

        while True:
            header = read_exactly(_LENGTH.size)
            length = _LENGTH.unpack(header)[0] if header else 0
            if not length:  # the parent closed our stdin (exited) or asked us to stop
                break
            docx = read_exactly(length)
            if len(docx) != length:
                break
            if office.poll() is not None:
                send(b"D", f"LibreOffice exited with status {office.returncode}".encode())
                _worker_group_kill(office)
                return 1
            try:
                pdf = conv.convert(indata=docx, convert_to="pdf", filtername=PDF_FILTER,
                                   filter_options=PDF_FILTER_OPTIONS, update_index=False,
                                   infiltername=DOCX_IMPORT_FILTER)
            except Exception as exc:  # UNO raises its own exception types, none of them a common base we can name
                time.sleep(0.05)  # (a dying LibreOffice breaks the bridge a moment before its process is gone)
                if office.poll() is not None or "DisposedException" in type(exc).__name__ or \
                        "disposed" in str(exc).lower() or "Binary URP bridge" in str(exc):
                    send(b"D", f"{type(exc).__name__}: {exc}".encode())
                    _worker_group_kill(office)
                    return 1
                send(b"E", (f"{type(exc).__name__}: {exc}".strip() or type(exc).__name__).encode())
                continue
            send(b"P", pdf)
    except ParentGone:
        pass
    except BaseException:
        _worker_group_kill(office)
        raise
    # The parent has gone (or asked us to stop): LibreOffice's profile is thrown away, so no graceful exit.
    _worker_group_kill(office)
    shutil.rmtree(directory, ignore_errors=True)
    _pipe_sockets_remove(pipe, sockets)
    return 0


def _worker_group_kill(office: subprocess.Popen) -> None:  # pragma: no cover - runs in the worker
    """SIGKILL every other process of the worker's group (oosplash and its soffice.bin), then reap oosplash."""
    me = os.getpid()
    for pid in _group_processes(os.getpgrp()):
        if pid != me:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    try:
        office.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


if __name__ == "__sttt_uno_worker__":  # pragma: no cover - the worker's entry point
    sys.exit(_worker_main(*sys.argv[3:6]))  # (argv: -c, lib, this file, ...)
