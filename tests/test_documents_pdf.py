"""documents/pdf.py with the real LibreOffice: a licence's DOCX (licensing.documents) becomes a PDF/A-2b whose fonts
are embedded Liberation Serif (Times New Roman's metric twin) and whose Vietnamese text reads back exactly; the warm
converter outlives a killed LibreOffice, a killed worker and a stuck one, serves threads and forked processes, and
refuses a corrupt DOCX without hanging."""

import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from documents import pdf
from documents.pdf import PdfRenderError, pdf_from_docx
from licensing.documents import OfficialDocument, document_render

pytestmark = pytest.mark.django_db  # (the project's autouse fixture loads the catalogue)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MOTTO = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
A4_POINTS = (595.3, 841.9)


def licence(**changes) -> OfficialDocument:
    values = dict(
        kind="permit",
        number_text="27/GP-STTTT",
        issued_at=datetime(2020, 1, 5, 9, 0, tzinfo=VN),
        title="Giấy phép hoạt động in",
        summary="",
        legal_bases=["Căn cứ Nghị định số 60/2014/NĐ-CP ngày 19 tháng 6 năm 2014 của Chính phủ quy định về "
                     "hoạt động in;"],
        recipient="Công ty TNHH In Đồng Tiến",
        body=[("Địa chỉ", "Số 12 đường Trần Hưng Đạo, phường Đề Thám, thành phố Thái Bình"),
              ("Người đứng đầu", "Phạm Thị Hường"),
              ("", "Được phép thực hiện chế bản, in và gia công sau in các sản phẩm in.")],
        closing=["Giấy phép có hiệu lực kể từ ngày ký."],
        signer_title="GIÁM ĐỐC",
        signer_name="Nguyễn Văn Quỳnh",
        recipients_block=["- Như trên;", "- Lưu: VT, TTBCXB."],
        agency_parent="UBND TỈNH THÁI BÌNH",
        agency_name="Sở Thông tin và Truyền thông",
        place="Thái Bình",
    )
    values.update(changes)
    return OfficialDocument(**values)


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def words(text: str) -> str:
    """Text with each run of whitespace (line breaks of the layout included) as one space."""
    return re.sub(r"\s+", " ", text).strip()


def converter_processes() -> dict[str, list[int]]:
    """This process's converter: its processes by name (python3 worker, oosplash, soffice.bin), from /proc."""
    converter = pdf._state["converter"]
    assert converter is not None and converter.worker_pid, "the converter is not running"
    found: dict[str, list[int]] = {}
    for pid, name in pdf._group_processes(converter.worker_pid).items():
        found.setdefault(name, []).append(pid)
    return found


@pytest.fixture(scope="session")
def licence_docx() -> bytes:
    return document_render(licence())


@pytest.fixture(scope="session")
def licence_pdf(licence_docx) -> bytes:
    return pdf_from_docx(licence_docx)


@pytest.fixture
def running(licence_docx, licence_pdf, settings):
    """This process's converter, warm (one document through it: a few hundredths of a second once started).

    The restart after DOCUMENTS_PDF_RESTART_AFTER documents is off while the test runs (a test that wants it sets
    it again): the converter is this xdist worker's, shared with every other test that renders a PDF, so its count
    may be one document short of a restart, which would change the process ids these tests compare.
    """
    settings.DOCUMENTS_PDF_RESTART_AFTER = 0
    pdf_from_docx(licence_docx, timeout=30)
    return pdf._state["converter"]


def test_licence_pdf_says_pdf_a_2b_in_its_xmp_and_is_a4(licence_pdf):
    reader = PdfReader(io.BytesIO(licence_pdf))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert re.search(r"<pdfaid:part>2</pdfaid:part>|pdfaid:part=\"2\"", xmp), xmp
    assert re.search(r"<pdfaid:conformance>B</pdfaid:conformance>|pdfaid:conformance=\"B\"", xmp), xmp
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width), 1), round(float(box.height), 1)) == A4_POINTS


def test_licence_pdf_embeds_every_font_and_they_are_liberation_serif(licence_pdf, tmp_path):
    path = tmp_path / "licence.pdf"
    path.write_bytes(licence_pdf)
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    fonts = [line.split() for line in lines[2:] if line.strip()]
    assert fonts, lines
    for font in fonts:
        name, embedded = font[0], font[-5]
        assert embedded == "yes", f"font not embedded: {font}"
        # "BAAAAA+LiberationSerif-Bold": a subset of Liberation Serif, never Times New Roman or a fallback font
        assert re.fullmatch(r"[A-Z]{6}\+LiberationSerif(-Bold|-Italic|-BoldItalic)?", name), name
    styles = {font[0].split("+")[1] for font in fonts}
    assert {"LiberationSerif", "LiberationSerif-Bold", "LiberationSerif-Italic"} <= styles


def test_licence_pdf_text_reads_back_in_vietnamese(licence_pdf, tmp_path):
    text = words(pdf_text(licence_pdf, tmp_path))
    assert MOTTO in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "SỞ THÔNG TIN VÀ TRUYỀN THÔNG" in text
    assert "Số: 27/GP-STTTT" in text
    assert "Thái Bình, ngày 05 tháng 01 năm 2020" in text
    assert "GIẤY PHÉP HOẠT ĐỘNG IN" in text
    assert "Phạm Thị Hường" in text and "Nguyễn Văn Quỳnh" in text
    assert "phường Đề Thám" in text


def test_the_quarterly_report_becomes_a_pdf_a_of_several_pages_in_liberation_serif(licence_pdf, tmp_path):
    """The longest document the service prints (tables over several pages, reports/exports.py) converts too."""
    from agencies.models import Agency
    from cases.models import CaseType
    from reports.exports import report_docx
    from reports.models import QuarterCell
    from reports.quarters import Quarter
    from reports.tables import quarterly_report

    agency = Agency.objects.get(code="thai-binh-stttt")
    QuarterCell.objects.create(agency=agency, case_type=CaseType.objects.get(code="bulletin"), year=2019, quarter=3,
                               metric="results", value=9)
    data = pdf_from_docx(report_docx(quarterly_report(Quarter(2019, 3), agency=agency), signer_name=""))
    reader = PdfReader(io.BytesIO(data))
    assert "<pdfaid:part>2</pdfaid:part>" in reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert len(reader.pages) >= 2
    path = tmp_path / "report.pdf"
    path.write_bytes(data)
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    fonts = [line.split() for line in lines[2:] if line.strip()]
    assert fonts and all(font[-5] == "yes" and "+LiberationSerif" in font[0] for font in fonts), lines
    assert "QUÝ III/2019" in words(pdf_text(data, tmp_path))


def test_converter_comes_back_after_libreoffice_is_killed(licence_docx, running, tmp_path):
    [office] = converter_processes()["soffice.bin"]
    assert running.office_pid == office
    os.kill(office, signal.SIGKILL)
    again = pdf_from_docx(licence_docx, timeout=30)
    assert MOTTO in words(pdf_text(again, tmp_path))
    after = converter_processes()
    assert after["soffice.bin"] != [office]
    assert not os.path.exists(f"/proc/{office}/cmdline") or open(f"/proc/{office}/cmdline").read() == ""


def test_converter_comes_back_after_its_worker_is_killed(licence_docx, running, tmp_path):
    converter = running
    worker, directory, pipe, sockets = converter.worker_pid, converter.directory, converter.pipe, converter.sockets
    os.killpg(worker, signal.SIGKILL)  # the worker and its LibreOffice, as an OOM kill of the group would
    again = pdf_from_docx(licence_docx, timeout=30)
    assert MOTTO in words(pdf_text(again, tmp_path))
    assert converter.worker_pid not in (None, worker)
    # nothing of the dead one is left behind: its profile directory, the socket files of its named pipes
    assert not directory.exists()
    assert any("SingleOfficeIPC" in path for path in sockets) and f"/tmp/OSL_PIPE_{os.getuid()}_{pipe}" in sockets
    assert [path for path in sockets if os.path.exists(path)] == []
    assert converter.directory.exists() and os.path.exists(f"/tmp/OSL_PIPE_{os.getuid()}_{converter.pipe}")


def test_four_threads_at_once_all_get_their_own_document(licence_pdf, tmp_path):
    numbers = ["31/GP-STTTT", "32/GP-STTTT", "33/GP-STTTT", "34/GP-STTTT"]
    documents = {number: document_render(licence(number_text=number)) for number in numbers}
    results, errors = {}, []
    start = threading.Barrier(len(numbers))

    def render(number: str) -> None:
        start.wait()
        try:
            results[number] = pdf_from_docx(documents[number], timeout=30)
        except Exception as exc:  # (reported below with the thread's document)
            errors.append((number, exc))

    threads = [threading.Thread(target=render, args=(number,)) for number in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    for number in numbers:
        text = words(pdf_text(results[number], tmp_path))
        assert f"Số: {number}" in text
        assert [other for other in numbers if other != number and other in text] == []


def test_a_forked_process_gets_its_own_libreoffice(licence_docx, running):
    """gunicorn and Celery fork their workers: the child starts its own converter and leaves the parent's alone."""
    parent_worker = running.worker_pid
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        try:
            data = pdf_from_docx(licence_docx, timeout=30)
            own = pdf._state["converter"]
            os.write(write_end, f"{len(data)} {int(data.startswith(b'%PDF'))} {own.worker_pid} {own.directory} "
                                f"{own.pipe}".encode())
        except BaseException as exc:
            os.write(write_end, f"error {exc!r}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    # meanwhile the parent converts too, with its own LibreOffice, as two gunicorn workers would
    parent_pdfs = [pdf_from_docx(licence_docx, timeout=30) for _ in range(5)]
    with os.fdopen(read_end) as answer:
        report = answer.read()
    os.waitpid(child, 0)
    assert all(data.startswith(b"%PDF") for data in parent_pdfs)
    size, is_pdf, child_worker, child_directory, child_pipe = report.split()
    assert int(size) > 10_000 and is_pdf == "1", report
    assert int(child_worker) != parent_worker
    # the child's converter went with the child; the parent's still answers
    assert pdf._state["converter"].worker_pid == parent_worker
    assert pdf_from_docx(licence_docx, timeout=30).startswith(b"%PDF")
    # the child exited without running atexit (os._exit, as Celery's pool does): its worker saw its stdin close and
    # went, LibreOffice with it
    gone_by = time.monotonic() + 10
    while os.path.exists(f"/proc/{child_worker}") and open(f"/proc/{child_worker}/stat").read().split()[2] != "Z":
        assert time.monotonic() < gone_by, "the forked child's LibreOffice worker outlived it"
        time.sleep(0.05)
    assert not os.path.exists(child_directory)
    assert not os.path.exists(f"/tmp/OSL_PIPE_{os.getuid()}_{child_pipe}")


def bytes_read(pid: int) -> int:
    """What a process has read so far (its stdin included), from /proc/<pid>/io."""
    fields = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return int(fields["rchar"])


def test_a_process_killed_mid_conversion_takes_its_libreoffice_with_it(licence_docx):
    """A Celery worker killed while a document converts (OOM, a deploy's SIGKILL): its LibreOffice worker finishes
    the document, finds nobody to hand it to, and goes, LibreOffice, profile and pipe with it. (It once exited on the
    broken pipe and left oosplash and soffice.bin running, 180 MB each, for good.)"""
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe, then converts until it is killed
        try:
            pdf_from_docx(licence_docx, timeout=30)
            own = pdf._state["converter"]
            os.write(ready_write, f"{own.worker_pid} {own.office_pid} {own.directory} {own.pipe}".encode())
            os.close(ready_write)
            os.read(go_read, 1)
            pdf_from_docx(licence_docx, timeout=60)
        finally:
            os._exit(0)
    os.close(ready_write)
    os.close(go_read)
    with os.fdopen(ready_read) as answer:
        worker, office, directory, pipe = answer.read().split()
    worker, office = int(worker), int(office)
    os.kill(office, signal.SIGSTOP)  # LibreOffice holds the next document until the child is gone
    try:
        before = bytes_read(worker)
        os.write(go_write, b"x")
        # the document reaches the worker, which hands it to the stopped LibreOffice and waits
        deadline = time.monotonic() + 10
        while bytes_read(worker) < before + len(licence_docx):
            assert time.monotonic() < deadline, "the document never reached the LibreOffice worker"
            time.sleep(0.05)
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    finally:
        os.kill(office, signal.SIGCONT)
    gone_by = time.monotonic() + 20
    while any(pdf._group_processes(worker).values()) or os.path.exists(f"/proc/{office}/cmdline") and \
            Path(f"/proc/{office}/cmdline").read_bytes():
        assert time.monotonic() < gone_by, f"left running: {pdf._group_processes(worker)}"
        time.sleep(0.1)
    assert not os.path.exists(directory)
    assert not os.path.exists(f"/tmp/OSL_PIPE_{os.getuid()}_{pipe}")


@pytest.mark.parametrize("name", ["random bytes", "truncated zip", "zip without word/document.xml",
                                  "half a document.xml", "empty"])
def test_corrupt_docx_raises_pdf_render_error_quickly(name, licence_docx, licence_pdf):
    def rezip(change) -> bytes:
        source, out = zipfile.ZipFile(io.BytesIO(licence_docx)), io.BytesIO()
        with zipfile.ZipFile(out, "w") as target:
            for item in source.infolist():
                data = change(item.filename, source.read(item))
                if data is not None:
                    target.writestr(item, data)
        return out.getvalue()

    corrupt = {
        "random bytes": os.urandom(40_000),
        "truncated zip": licence_docx[: len(licence_docx) // 2],
        "zip without word/document.xml": rezip(lambda name, data: None if name == "word/document.xml" else data),
        "half a document.xml": rezip(lambda name, data: data[: len(data) // 2] if name == "word/document.xml"
                                     else data),
        "empty": b"",
    }[name]
    started = time.monotonic()
    with pytest.raises(PdfRenderError):
        pdf_from_docx(corrupt, timeout=20)
    assert time.monotonic() - started < 10
    assert pdf_from_docx(licence_docx, timeout=30).startswith(b"%PDF")  # and the converter still works


def test_a_stuck_libreoffice_times_out_and_the_next_call_starts_afresh(licence_docx, running):
    [office] = converter_processes()["soffice.bin"]
    os.kill(office, signal.SIGSTOP)  # LibreOffice hangs in the middle of everything
    try:
        started = time.monotonic()
        with pytest.raises(PdfRenderError, match="in time"):
            pdf_from_docx(licence_docx, timeout=1.5)
        assert time.monotonic() - started < 3.5
    finally:
        try:
            os.kill(office, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert pdf_from_docx(licence_docx, timeout=30).startswith(b"%PDF")
    assert converter_processes()["soffice.bin"] != [office]


def test_without_python3_uno_each_document_is_converted_cold(licence_docx, settings, monkeypatch, tmp_path):
    """A machine whose python lacks uno (here: the venv's own) still gets its PDF/A, from a cold soffice."""
    monkeypatch.setattr(pdf, "_state", {"pid": None, "converter": None, "unavailable": None})
    settings.DOCUMENTS_UNO_PYTHON = sys.executable
    data = pdf_from_docx(licence_docx, timeout=30)
    assert pdf._state["unavailable"] and "uno" in pdf._state["unavailable"]
    assert pdf._state["converter"].worker_pid is None
    xmp = PdfReader(io.BytesIO(data)).trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>2</pdfaid:part>" in xmp
    assert MOTTO in words(pdf_text(data, tmp_path))


def test_libreoffice_is_started_afresh_after_so_many_documents(running, licence_docx, settings):
    """DOCUMENTS_PDF_RESTART_AFTER bounds LibreOffice's memory in long-lived workers (it grows ~0.5 MB a document)."""
    settings.DOCUMENTS_PDF_RESTART_AFTER = 2
    running.converted = 0
    starts, [office] = running.starts, converter_processes()["soffice.bin"]
    for _ in range(2):
        pdf_from_docx(licence_docx, timeout=30)
    assert (running.starts, converter_processes()["soffice.bin"]) == (starts, [office])
    pdf_from_docx(licence_docx, timeout=30)
    assert running.starts == starts + 1
    assert converter_processes()["soffice.bin"] != [office]


def test_a_timeout_shorter_than_libreoffice_takes_to_start_raises_and_leaves_nothing(licence_docx, monkeypatch):
    def sockets() -> set[Path]:
        return set(Path(tempfile.gettempdir()).glob(f"OSL_PIPE_*_sttt-pdf-{os.getpid()}-*"))

    before = sockets()  # (this process's warm converter may have its own)
    monkeypatch.setattr(pdf, "_state", {"pid": None, "converter": None, "unavailable": None})
    started = time.monotonic()
    with pytest.raises(PdfRenderError, match="did not start in time"):
        pdf_from_docx(licence_docx, timeout=0.3)
    assert time.monotonic() - started < 2
    converter = pdf._state["converter"]
    assert converter.worker_pid is None and converter.directory is None
    assert sockets() - before == set()
