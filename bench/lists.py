"""python -m bench.lists [--runs 50]

The filtered first page of cases (through gunicorn, 2 workers): p50 target ≤ 30 ms; the text search with and without
diacritics (`q=Minh Phát`, `q=minh phat`): p50 target ≤ 20 ms; and the number of SQL queries for page sizes 10 and
100 (must be equal: no N+1).
"""

import argparse

from bench._server import gunicorn, timed_get, token_for
from bench._setup import django_setup, percentile, summary

USERS = ["bench_department_head", "bench_officer"]  # unscoped, and scoped to the licensing domain
QUERIES = [
    "",
    "type=bulletin&state=issued&ordering=-received_at",
    "received_after=2019-10-01T00:00:00%2B07:00&received_before=2020-01-01T00:00:00%2B07:00",
    "overdue=true",
    "q=Minh%20Ph%C3%A1t",  # two words of organisations' names (1 in 900 organisations holds both)
    "q=minh%20phat",  # the same typed without diacritics
]
SEARCHES = {"q=Minh%20Ph%C3%A1t", "q=minh%20phat"}


def query_count(path: str, user) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    return len(queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    django_setup()
    from django.contrib.auth.models import User

    from cases.models import Case

    print(f"case lists, {Case.objects.count():,} cases, {args.runs} runs each")
    worst = search_worst = 0.0
    with gunicorn() as base:
        for username in USERS:
            token = token_for(username)
            for query in QUERIES:
                url = f"{base}/api/v1/cases/?{query}"
                timed_get(url, token)
                times = [timed_get(url, token)[0] for _ in range(args.runs)]
                worst = max(worst, percentile(times, 0.5))
                if query in SEARCHES:
                    search_worst = max(search_worst, percentile(times, 0.5))
                print(f"  {username} ?{query}: p50 {percentile(times, 0.5):.1f} ms  "
                      f"p95 {percentile(times, 0.95):.1f} ms (target p50 ≤ {20 if query in SEARCHES else 30} ms)")
    summary("lists: slowest filtered first page p50", f"{worst:.1f} ms", "≤ 30 ms", worst <= 30)
    summary("lists: text search p50 (Minh Phát, minh phat)", f"{search_worst:.1f} ms", "≤ 20 ms", search_worst <= 20)
    head = User.objects.get(username="bench_department_head")
    small = query_count("/api/v1/cases/?type=bulletin&page_size=10", head)
    large = query_count("/api/v1/cases/?type=bulletin&page_size=100", head)
    print(f"  SQL queries for page_size 10: {small}, for page_size 100: {large} "
          f"({'same' if small == large else 'DIFFERENT: N+1'})")
    summary("lists: SQL queries page_size 10 vs 100", f"{small} vs {large}", "equal", small == large)


if __name__ == "__main__":
    main()
