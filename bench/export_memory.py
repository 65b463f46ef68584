"""python -m bench.export_memory [--cases 100000] [--format xlsx]

Peak memory of the XLSX export of 100,000 cases: the export task's body (reports.case_export.export_run) runs in
a child process under `/usr/bin/time -v`, on a period chosen to hold exactly that many cases of the benchmark
database. Target: peak RSS ≤ 250 MB.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

from bench._setup import django_setup, summary


def child(job_id: int) -> None:
    django_setup()
    from reports.case_export import export_run

    job = export_run(job_id=job_id)
    print(f"rows={job.rows_done} size={job.file.size} file={job.file.name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--format", default="xlsx", choices=["xlsx", "csv"])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    django_setup()
    from django.contrib.auth.models import User

    from cases.models import Case
    from reports.models import ExportJob
    from reports.services import export_request

    # The period [first, end) holding exactly --cases cases, oldest first.
    times = Case.objects.order_by("received_at").values_list("received_at", flat=True)
    first, end = times[0], times[args.cases]
    job, _ = export_request(actor=User.objects.get(username="bench_reporter"), format=args.format,
                            received_from=first, received_to=end)
    expected = Case.objects.filter(received_at__gte=first, received_at__lt=end).count()
    with tempfile.TemporaryDirectory() as media:
        result = subprocess.run(
            ["/usr/bin/time", "-v", sys.executable, "-m", "bench.export_memory", "--child", str(job.pk)],
            env={**os.environ, "MEDIA_ROOT": media}, capture_output=True, text=True)
        if result.returncode:
            raise SystemExit(result.stdout + result.stderr)
    rss_mb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1)) / 1024
    wall = re.search(r"Elapsed \(wall clock\) time.*: ([\d:.]+)", result.stderr).group(1)
    job = ExportJob.objects.get(pk=job.pk)
    print(f"export memory: {job.rows_done:,} cases ({expected:,} in the period) to {args.format.upper()}, "
          f"{result.stdout.strip()}, wall {wall}, peak RSS {rss_mb:.0f} MB")
    summary(f"export memory ({args.format.upper()}, {args.cases:,} cases)", f"{rss_mb:.0f} MB", "≤ 250 MB",
            rss_mb <= 250 and job.rows_done == expected == args.cases)


if __name__ == "__main__":
    main()
