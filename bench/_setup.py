"""Benchmarks run against their own PostgreSQL database and Redis, never the tests' or the demo's."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sttt_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# The multi-agency database (10 agencies × 100,000 cases), next to sttt_bench (one agency's history, 1,000,000).
AGENCIES_DATABASE = os.environ.get("BENCH_AGENCIES_DATABASE", "sttt_bench_agencies")


def database_url(name: str) -> str:
    """DATABASE_URL with its database name replaced by `name` (same server, user and options)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + name))


def django_setup() -> None:
    import django

    django.setup()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def summary(name: str, figure: str, target: str, passed: bool) -> None:
    """One summary line per benchmark; `make bench` collects them from BENCH_SUMMARY."""
    line = f"{name:<52} {figure:>14}  target {target:<12} {'PASS' if passed else 'FAIL'}"
    print("SUMMARY " + line, flush=True)
    path = os.environ.get("BENCH_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
