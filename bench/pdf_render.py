"""python -m bench.pdf_render [--licences 200] [--cold 5] [--processes 1]

PDFs rendered per second from licences' DOCX (licensing.documents, 200 different licences) by documents/pdf.py's
warm LibreOffice (one converter per process; --processes N runs N processes side by side, as N gunicorn or Celery
workers would), against the cold way (``soffice --headless --convert-to pdf`` per document, --cold documents).
Every PDF is checked to say PDF/A-2b in its XMP. No target yet (issue 15's goal is about signed PDFs): the figure
is reported, and the line fails only when a PDF is missing or not PDF/A-2b.
"""

import argparse
import multiprocessing
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench._setup import django_setup, percentile, summary

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PDFA_2B = (b"<pdfaid:part>2</pdfaid:part>", b"<pdfaid:conformance>B</pdfaid:conformance>")
RECIPIENTS = ["Công ty TNHH In Đồng Tiến", "Công ty Cổ phần In Thái Bình", "Hộ kinh doanh Trần Văn Hùng",
              "Công ty TNHH Bao bì Hưng Yên", "Nhà in Báo Thái Bình"]


def licences_docx(count: int) -> list[bytes]:
    from licensing.documents import OfficialDocument, document_render

    first = datetime(2020, 1, 6, 9, 0, tzinfo=VN)
    return [document_render(OfficialDocument(
        kind="permit", number_text=f"{n + 1}/GP-STTTT", issued_at=first + timedelta(days=n),
        title="Giấy phép hoạt động in", summary="",
        legal_bases=["Căn cứ Nghị định số 60/2014/NĐ-CP ngày 19 tháng 6 năm 2014 của Chính phủ quy định về hoạt "
                     "động in;", "Căn cứ Nghị định số 25/2018/NĐ-CP ngày 28 tháng 02 năm 2018 của Chính phủ;"],
        recipient=RECIPIENTS[n % len(RECIPIENTS)],
        body=[("Địa chỉ", f"Số {n + 1} đường Lý Bôn, phường Đề Thám, thành phố Thái Bình"),
              ("Người đứng đầu", "Phạm Thị Hường"),
              ("", "Được phép thực hiện chế bản, in và gia công sau in các sản phẩm in.")],
        closing=["Giấy phép có hiệu lực kể từ ngày ký."], signer_name="Nguyễn Văn Quỳnh",
        recipients_block=["- Như trên;", "- Lưu: VT, TTBCXB."], agency_parent="UBND TỈNH THÁI BÌNH",
        agency_name="Sở Thông tin và Truyền thông", place="Thái Bình")) for n in range(count)]


def is_pdfa_2b(data: bytes) -> bool:
    return data.startswith(b"%PDF") and all(mark in data for mark in PDFA_2B)


def office_rss_mb() -> float:
    from documents import pdf

    converter = pdf._state.get("converter")
    pid = converter.office_pid if converter is not None else None
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration, TypeError):
        return 0.0


def render_share(documents: list[bytes]) -> tuple[list[float], int, float, float, int]:
    """Run in one process: the first call (LibreOffice starting), then the documents, each timed."""
    from documents import pdf
    from documents.pdf import pdf_from_docx

    started = time.perf_counter()
    pdf_from_docx(documents[0])
    first = time.perf_counter() - started
    times, good = [], 0
    for docx in documents:
        started = time.perf_counter()
        data = pdf_from_docx(docx)
        times.append(time.perf_counter() - started)
        good += is_pdfa_2b(data)
    return times, good, first, office_rss_mb(), pdf._state["converter"].starts - 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--licences", type=int, default=200)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    django_setup()
    from documents.pdf import _pdf_from_docx_cold

    started = time.perf_counter()
    documents = licences_docx(args.licences)
    docx_seconds = time.perf_counter() - started

    shares = [documents[n::args.processes] for n in range(args.processes)]
    started = time.perf_counter()
    if args.processes == 1:
        results = [render_share(shares[0])]
    else:
        with multiprocessing.get_context("fork").Pool(args.processes) as pool:
            results = pool.map(render_share, shares)
    wall = time.perf_counter() - started
    times = [t for result in results for t in result[0]]
    good = sum(result[1] for result in results)
    first = max(result[2] for result in results)
    warm_wall = wall - first  # the documents alone, LibreOffice already started
    per_second = len(times) / warm_wall

    cold = []
    for docx in documents[: args.cold]:
        begun = time.perf_counter()
        data = _pdf_from_docx_cold(docx, deadline=time.monotonic() + 60)
        cold.append(time.perf_counter() - begun)
        good += 0 if is_pdfa_2b(data) else -1000  # (a cold PDF that is not PDF/A fails the line too)

    print(f"PDF/A-2b from {args.licences} licences' DOCX ({docx_seconds / args.licences * 1000:.1f} ms per DOCX "
          f"with python-docx), {args.processes} process(es), each with its own warm LibreOffice")
    print(f"  first call (LibreOffice starting, then one document): {first:.2f} s")
    print(f"  warm: p50 {percentile(times, 0.5) * 1000:.0f} ms  p95 {percentile(times, 0.95) * 1000:.0f} ms  "
          f"max {max(times) * 1000:.0f} ms per document; {per_second:.1f} PDFs/s "
          f"({len(times)} in {warm_wall:.1f} s)")
    print(f"  LibreOffice restarts during the run (DOCUMENTS_PDF_RESTART_AFTER, counted in the figure): "
          f"{sum(result[4] for result in results)}; its resident memory at the end: "
          f"{', '.join(f'{result[3]:.0f} MB' for result in results)}")
    if cold:
        print(f"  cold (soffice --convert-to per document, fresh profile): mean "
              f"{sum(cold) / len(cold):.2f} s, min {min(cold):.2f} s per document ({len(cold)} documents)")
    print(f"  PDF/A-2b in the XMP: {good} of {len(times)} warm PDFs")
    summary(f"PDFs rendered per second (warm, {args.licences} licences)", f"{per_second:.1f} /s", "(report)",
            good == len(times) == args.licences)


if __name__ == "__main__":
    main()
