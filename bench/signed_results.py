"""python -m bench.signed_results [--licences 200] [--approvals 10] [--workers 2]

Electronic results (issue 15, licensing/electronic.py):
1. Signed PDFs per second over `--licences` licences in one process: each licence's DOCX (licensing.documents)
   turned into PDF/A by the warm LibreOffice (documents.pdf) and signed (documents.signing, the demo CA unless a
   key is configured), as the signing task does it.
2. The time from the head's approval to the signed PDF being downloadable, with `--approvals` approvals at once:
   cases of the bench database received and proposed through the services, 2 Celery workers (prefork,
   concurrency 1 each, as bench.pipeline) consuming the benchmark's queue, the approvals committed together from as
   many threads; for each case, the time from its approval's commit to the moment its verification record holds
   the signed PDF (`signed_at`, which the download's `?format=pdf` waits for). Goal: p95 under 5 s.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ["CELERY_TASK_DEFAULT_QUEUE"] = "bench-signed"
os.environ.setdefault("DOCUMENTS_SIGNING_DEMO", "1")

from bench._setup import django_setup, percentile, summary  # noqa: E402

QUEUE = "bench-signed"
ROOT = Path(__file__).resolve().parent.parent
VN = ZoneInfo("Asia/Ho_Chi_Minh")


def signed_per_second(count: int) -> tuple[float, list[float]]:
    from bench.pdf_render import licences_docx
    from documents.pdf import pdf_from_docx
    from documents.signing import pdf_sign
    from documents.validation import pdf_signature_check

    documents = licences_docx(count)
    pdf_sign(pdf_from_docx(documents[0]), reason="warm-up", location="Hưng Yên", signer_name="Giám đốc")
    times = []
    started = time.perf_counter()
    last = b""
    for docx in documents:
        begun = time.perf_counter()
        last = pdf_sign(pdf_from_docx(docx), reason="Giấy phép hoạt động in", location="Hưng Yên",
                        signer_name="Nguyễn Văn Quỳnh")
        times.append(time.perf_counter() - begun)
    wall = time.perf_counter() - started
    check = pdf_signature_check(last)
    if not (check.signed and check.intact):
        raise SystemExit(f"the last signed PDF does not validate: {check.summary}")
    return count / wall, times


def workers_start(count: int, log_dir: Path) -> list[subprocess.Popen]:
    from django.conf import settings

    processes = []
    for n in range(count):
        log = open(log_dir / f"worker{n + 1}.log", "w")  # noqa: SIM115 (kept open for the process)
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker.celery", "worker", "--pool=prefork", "--concurrency=1",
             "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"bench-signed{n + 1}@localhost", "-Q", f"{QUEUE},{settings.CELERY_DOCUMENTS_QUEUE}"],
            cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base"},
            stdout=log, stderr=subprocess.STDOUT))
    return processes


def approvals_to_signed(count: int, workers: int) -> list[float]:
    import redis
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection

    from cases import services as case_services
    from cases.models import Case
    from demo.files import demo_pdf
    from demo.year import _fields
    from licensing.models import IssuedDocument
    from licensing.procedures import PROCEDURES
    from licensing.services import application_receive
    from worker.celery import app

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete(QUEUE, settings.CELERY_DOCUMENTS_QUEUE)
    officer = User.objects.get(username="bench_officer")
    head = User.objects.get(username="bench_department_head")
    import random

    rng = random.Random(11)
    cases = []
    for n in range(count):
        organisation, fields = _fields("printing_licence", n, datetime.now(VN), rng)
        case, _created = application_receive(actor=officer, procedure="printing_licence", fields=fields,
                                             organisation=organisation)
        for kind, _label in PROCEDURES["printing_licence"].required_files:
            case_services.attachment_add(case_id=case.pk, actor=officer, upload=demo_pdf(f"{kind}.pdf", f"{n}-{kind}"),
                                         kind=kind)
        cases.append(case.pk)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-signed-"))
    processes = workers_start(workers, log_dir)
    names = [f"bench-signed{n + 1}@localhost" for n in range(workers)]
    try:
        deadline = time.monotonic() + 60
        while len(app.control.ping(destination=names, timeout=1)) < workers:
            if time.monotonic() > deadline:
                raise SystemExit(f"workers did not start; see {log_dir}")
        # Intake by the workers, then the officer's review and proposal.
        deadline = time.monotonic() + 120
        while Case.objects.filter(pk__in=cases, intake_completed_at__isnull=True).exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"intake did not finish; see {log_dir}")
            time.sleep(0.1)
        for pk in cases:
            for action in ("start_review", "propose_grant"):
                case_services.case_transition(case_id=pk, actor=officer, action=action)
        # Warm the workers' converters and keys with a few approvals first (a process's first document starts its
        # LibreOffice: 1.3-1.9 s, once per worker process, not per approval): two per worker, approved one by one.
        warm, cases = cases[:2 * workers], cases[2 * workers:]
        for pk in warm:
            case_services.case_transition(case_id=pk, actor=head, action="approve")
        _wait_signed(warm, 120, log_dir)

        barrier = threading.Barrier(len(cases))
        approved_at: dict[int, float] = {}

        def approve(pk):
            barrier.wait()
            case_services.case_transition(case_id=pk, actor=head, action="approve")
            approved_at[pk] = time.time()
            connection.close()

        threads = [threading.Thread(target=approve, args=(pk,)) for pk in cases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        _wait_signed(cases, 120, log_dir)
        latencies = []
        for document in IssuedDocument.objects.filter(case_id__in=cases, kind__in=IssuedDocument.RESULT_KINDS) \
                .select_related("verifiable"):  # the results (each case's receipt is signed too, at its receipt)
            latencies.append(document.verifiable.signed_at.timestamp() - approved_at[document.case_id])
        return latencies
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _wait_signed(case_ids, timeout: float, log_dir) -> None:
    from licensing.models import IssuedDocument

    deadline = time.monotonic() + timeout
    while IssuedDocument.objects.filter(case_id__in=case_ids, kind__in=IssuedDocument.RESULT_KINDS,
                                        verifiable__signed_at__isnull=False).count() < len(case_ids):
        if time.monotonic() > deadline:
            raise SystemExit(f"the signed PDFs did not come; see {log_dir}")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--licences", type=int, default=200)
    parser.add_argument("--approvals", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    django_setup()
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)

    rate, times = signed_per_second(args.licences)
    print(f"signed PDFs: {args.licences} licences' DOCX → PDF/A → PAdES (one process): {rate:.1f}/s; p50 "
          f"{percentile(times, 0.5) * 1000:.0f} ms, p95 {percentile(times, 0.95) * 1000:.0f} ms each")
    summary("signed PDFs per second (render + sign, one process)", f"{rate:.1f}/s", "(none)", True)

    latencies = approvals_to_signed(args.approvals + 2 * args.workers, args.workers)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    print(f"approval → signed PDF downloadable, {len(latencies)} approvals at once, {args.workers} workers: p50 "
          f"{p50:.2f} s, p95 {p95:.2f} s, max {max(latencies):.2f} s")
    summary("approval → signed PDF p95 (10 at once)", f"{p95:.2f} s", "< 5 s", p95 < 5)


if __name__ == "__main__":
    main()
