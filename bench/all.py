"""python -m bench.all [--cases 1000000] [--regenerate]   (what `make bench` runs)

Generates the benchmark database when it is missing or smaller than --cases, runs every benchmark in turn (each
in its own process, against PostgreSQL and Redis on this machine, through gunicorn with 2 workers where a server
is involved) and prints one summary line per benchmark: name, figure, target, PASS/FAIL.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import bench._setup  # noqa: F401  (the benchmark database and Redis)

BENCHMARKS = [
    ["bench.report_floor", "--runs", "50"],
    ["bench.lists", "--runs", "50"],
    ["bench.framework_floor", "--seconds", "10", "--rounds", "2"],
    ["bench.export_memory", "--cases", "100000"],
    ["bench.photo_bomb", "--rounds", "3", "--seconds", "6"],
    ["bench.pipeline", "--applications", "10000"],  # last: it adds 10,000 cases to the database
]


def cases_in_bench_database() -> int:
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(os.environ["DATABASE_URL"])
    try:
        with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"]) as conn:
            return conn.execute("SELECT count(*) FROM cases_case").fetchone()[0]
    except psycopg.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=int(os.environ.get("BENCH_CASES", 1_000_000)))
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    if args.regenerate or cases_in_bench_database() < args.cases:
        subprocess.run([sys.executable, "-m", "bench.generate", "--cases", str(args.cases)], check=True)
    else:
        print(f"benchmark database already holds {cases_in_bench_database():,} cases (--regenerate to rebuild)")
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
