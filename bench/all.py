"""python -m bench.all [--cases 1000000] [--agencies 10] [--regenerate]   (what `make bench` runs)

Generates the benchmark database (sttt_bench, --cases of one agency's history) and the multi-agency one
(sttt_bench_agencies, --agencies agencies sharing --cases) when missing or smaller than --cases, runs every
benchmark in turn (each in its own process, against PostgreSQL and Redis on this machine, through gunicorn with
2 sync workers where a server is involved, the production shape for photo_bomb) and prints one summary line per
benchmark: name, figure, target, PASS/FAIL.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from bench._setup import AGENCIES_DATABASE, database_url  # (also: the benchmark database and Redis)

BENCHMARKS = [
    ["bench.report_floor", "--runs", "50"],
    ["bench.lists", "--runs", "50"],
    ["bench.agencies", "--runs", "50"],  # against sttt_bench and sttt_bench_agencies side by side
    ["bench.framework_floor", "--seconds", "10", "--rounds", "2"],
    ["bench.export_memory", "--cases", "100000"],
    ["bench.photo_bomb", "--rounds", "3", "--seconds", "6"],
    ["bench.pdf_render", "--licences", "200"],  # DOCX → PDF/A-2b with a warm LibreOffice (documents/pdf.py)
    # Signed PDFs per second, and approval → signed PDF with 10 approvals at once (adds 14 cases to the database).
    ["bench.signed_results", "--licences", "200", "--approvals", "10"],
    # One visit (8 findings, 8 camera photos scaled on the tablet) synced through Chromium's network emulation at
    # 1.6 Mbit/s down, 750 kbit/s up, 300 ms (Playwright + Debian's chromium; adds 8 findings to the database).
    ["bench.field_sync", "--photos", "8"],
    ["bench.pipeline", "--applications", "10000"],  # last: it adds 10,000 cases to the database
]


def cases_in_bench_database(name: str | None = None) -> int:
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(database_url(name) if name else os.environ["DATABASE_URL"])
    try:
        with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]) as conn:
            # (a database made before cases had an agency has no such column: 0, generated again)
            return conn.execute("SELECT count(*) FROM cases_case WHERE agency_id IS NOT NULL").fetchone()[0]
    except psycopg.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=int(os.environ.get("BENCH_CASES", 1_000_000)))
    parser.add_argument("--agencies", type=int, default=int(os.environ.get("BENCH_AGENCIES", 10)))
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    if args.regenerate or cases_in_bench_database() < args.cases:
        subprocess.run([sys.executable, "-m", "bench.generate", "--cases", str(args.cases)], check=True)
    else:
        print(f"benchmark database already holds {cases_in_bench_database():,} cases (--regenerate to rebuild)")
    if args.regenerate or cases_in_bench_database(AGENCIES_DATABASE) < args.cases:
        subprocess.run([sys.executable, "-m", "bench.generate", "--cases", str(args.cases),
                        "--agencies", str(args.agencies), "--database", AGENCIES_DATABASE], check=True)
    else:
        print(f"multi-agency database {AGENCIES_DATABASE} already holds "
              f"{cases_in_bench_database(AGENCIES_DATABASE):,} cases (--regenerate to rebuild)")
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as lines:
        env = {**os.environ, "BENCH_SUMMARY": lines.name}
        failed = []
        for command in BENCHMARKS:
            print(f"\n$ python -m {' '.join(command)}", flush=True)
            if subprocess.run([sys.executable, "-m", *command], env=env).returncode:
                failed.append(command[0])
        summary = lines.read()
    print(f"\nSUMMARY ({time.monotonic() - started:.0f} s)")
    print(summary, end="")
    for name in failed:
        print(f"{name}: crashed (see its output above)")
    if failed or "FAIL" in summary:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
