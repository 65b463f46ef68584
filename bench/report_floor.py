"""python -m bench.report_floor [--quarter 2019-Q4] [--runs 50]

The quarterly report endpoint (through gunicorn, 2 workers) against the raw SQL that computes the same
numbers straight from the cases table, timed in one run. Targets: endpoint p50 ≤ 1.2 × raw SQL p50, ≤ 50 ms.

A report is one agency's (the one agency of the quarter, asked for by its id): the raw SQL counts the cases that
agency held at the quarter's end (at the previous quarter's end for the previous quarter's column), read as the
product reads it: the case's agency, unless a transfer event after that end says the agency it was moved from.
"""

import argparse
import json
import time

from bench._server import gunicorn, timed_get, token_for
from bench._setup import django_setup, percentile, summary

RAW_SQL = """
SELECT c.case_type_id,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.outcome = 'granted'
                   AND c.decided_at >= %(s)s AND c.decided_at < %(e)s) AS results,
  count(*) FILTER (WHERE h.at_previous_end = %(a)s AND c.outcome = 'granted'
                   AND c.decided_at >= %(ps)s AND c.decided_at < %(s)s) AS previous,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.received_at >= %(s)s AND c.received_at < %(e)s) AS received,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.received_at < %(s)s
                   AND (f.finished IS NULL OR f.finished >= %(s)s)) AS carried_over,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.outcome IN ('granted', 'refused')
                   AND c.decided_at >= %(s)s AND c.decided_at < %(e)s
                   AND c.apologised_at IS NULL AND c.decided_at <= c.due_at
                   AND (c.decided_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                       < (c.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) AS early,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.outcome IN ('granted', 'refused')
                   AND c.decided_at >= %(s)s AND c.decided_at < %(e)s
                   AND c.apologised_at IS NULL AND c.decided_at <= c.due_at
                   AND (c.decided_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
                       >= (c.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) AS on_time,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.outcome IN ('granted', 'refused')
                   AND c.decided_at >= %(s)s AND c.decided_at < %(e)s
                   AND (c.apologised_at IS NOT NULL OR c.decided_at > c.due_at)) AS late,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.outcome = 'refused'
                   AND c.decided_at >= %(s)s AND c.decided_at < %(e)s) AS refused,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.outcome = 'withdrawn'
                   AND c.closed_at >= %(s)s AND c.closed_at < %(e)s) AS withdrawn,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.received_at < %(e)s AND (f.finished IS NULL OR f.finished >= %(e)s)
                   AND NOT (c.due_at < %(e)s AND c.paused_at IS NULL)) AS pending_within,
  count(*) FILTER (WHERE h.at_end = %(a)s AND c.received_at < %(e)s AND (f.finished IS NULL OR f.finished >= %(e)s)
                   AND c.due_at < %(e)s AND c.paused_at IS NULL) AS pending_late
FROM cases_case c
JOIN cases_casetype t ON t.id = c.case_type_id AND t.domain = 'licensing'
CROSS JOIN LATERAL (SELECT CASE WHEN c.outcome IN ('granted', 'refused') THEN c.decided_at
                                WHEN c.outcome = 'withdrawn' THEN c.closed_at END AS finished) f
-- the agency holding the case at the quarter's end and at the previous quarter's end (the timeline's transfers),
-- read once per case (OFFSET 0: not copied into every FILTER below)
CROSS JOIN LATERAL (SELECT
  COALESCE((SELECT (e.before ->> 'agency')::bigint FROM cases_caseevent e
            WHERE e.case_id = c.id AND e.kind = 'transfer' AND e.at >= %(e)s ORDER BY e.at, e.id LIMIT 1),
           c.agency_id) AS at_end,
  COALESCE((SELECT (e.before ->> 'agency')::bigint FROM cases_caseevent e
            WHERE e.case_id = c.id AND e.kind = 'transfer' AND e.at >= %(s)s ORDER BY e.at, e.id LIMIT 1),
           c.agency_id) AS at_previous_end OFFSET 0) h
WHERE c.received_at < %(e)s AND (f.finished IS NULL OR f.finished >= %(ps)s)
GROUP BY c.case_type_id
"""
# For reference only: reading the kept figures themselves, the data path the endpoint stands on.
KEPT_SQL = """
SELECT case_type_id, year, quarter, metric, value FROM reports_quartercell
WHERE agency_id = %(a)s AND ((year = %(y)s AND quarter = %(q)s) OR (year = %(py)s AND quarter = %(pq)s))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quarter", default="2019-Q4")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    django_setup()
    from django.contrib.auth.models import User
    from django.db import connection

    from agencies.models import Agency, Membership
    from cases.models import Case
    from reports.quarters import Quarter
    from reports.tables import report_agency

    quarter = Quarter.parse(args.quarter)
    # The quarter's one agency; the reporter works for it (a benchmark database made before agencies had none).
    agency = report_agency(quarter, agency_ids=Agency.objects.values_list("pk", flat=True))
    Membership.objects.get_or_create(user=User.objects.get(username="bench_reporter"), agency=agency)
    params = {"s": quarter.start, "e": quarter.end, "ps": quarter.previous().start, "a": agency.pk}
    cases = Case.objects.count()
    token = token_for("bench_reporter")
    kept_params = {"y": quarter.year, "q": quarter.number, "py": quarter.previous().year,
                   "pq": quarter.previous().number, "a": agency.pk}
    raw, endpoint, kept = [], [], []
    with gunicorn() as base:
        url = f"{base}/api/v1/reports/quarterly/?quarter={quarter}&agency={agency.pk}"
        timed_get(url, token)  # warm both paths once
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, params)
            rows = cursor.fetchall()
        for _ in range(args.runs):  # interleaved, so that machine noise hits both alike
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(RAW_SQL, params)
                cursor.fetchall()
            raw.append((time.perf_counter() - started) * 1000)
            elapsed, body = timed_get(url, token)
            endpoint.append(elapsed)
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(KEPT_SQL, kept_params)
                cursor.fetchall()
            kept.append((time.perf_counter() - started) * 1000)
    report = json.loads(body)
    by_type = {row[0]: row for row in rows}
    from cases.models import CaseType

    codes = dict(CaseType.objects.values_list("code", "pk"))
    agree = all(by_type.get(codes[r["code"]], (0, 0, 0))[1:3] == (r["count"], r["previous"])
                for r in report["procedure_results"])
    raw_p50, end_p50 = percentile(raw, 0.5), percentile(endpoint, 0.5)
    print(f"report floor, {cases:,} cases, quarter {quarter} of {agency.code}, {args.runs} runs each")
    print(f"  raw SQL from the cases table: p50 {raw_p50:.1f} ms  p95 {percentile(raw, 0.95):.1f} ms")
    print(f"  raw SQL over the kept figures (for reference): p50 {percentile(kept, 0.5):.2f} ms")
    print(f"  GET /api/v1/reports/quarterly/: p50 {end_p50:.1f} ms  p95 {percentile(endpoint, 0.95):.1f} ms")
    print(f"  ratio endpoint/raw p50 = {end_p50 / raw_p50:.2f} (target ≤ 1.2); endpoint p50 ≤ 50 ms: "
          f"{'yes' if end_p50 <= 50 else 'NO'}; same numbers as the raw SQL: {'yes' if agree else 'NO'}")
    summary("report floor (endpoint p50 / raw SQL p50)", f"{end_p50 / raw_p50:.2f}", "≤ 1.20",
            end_p50 <= 1.2 * raw_p50 and agree)
    summary("report endpoint p50", f"{end_p50:.1f} ms", "≤ 50 ms", end_p50 <= 50 and agree)


if __name__ == "__main__":
    main()
