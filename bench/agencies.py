"""python -m bench.agencies [--runs 50] [--quarter 2019-Q4]

Several departments in one installation: the lists of bench.lists and the quarterly report endpoint of
bench.report_floor, asked by a user of ONE agency of the multi-agency database (10 agencies × 100,000 cases,
`python -m bench.generate --agencies 10`, database BENCH_AGENCIES_DATABASE, default sttt_bench_agencies) and by
the same user of the one-agency database sttt_bench (1,000,000 cases of one agency's history, which that user
sees whole). Two gunicorn servers (2 sync workers each) run side by side and every request to one is followed
by the same request to the other, so that the machine's noise hits both alike; the figure is the ratio of the
p50s, within this run. Target: ≤ 1.2 for every list (the worst is the summary) and for the report.
"""

import argparse
import json

from bench._server import gunicorn, timed_get, token_for
from bench._setup import AGENCIES_DATABASE, django_setup, percentile, summary
from bench.lists import QUERIES, USERS
from bench.report_floor import RAW_SQL

MULTI = "agencies"  # the Django alias of the multi-agency database, in this process


def databases_configure() -> None:
    """A second database alias for the multi-agency database (tokens, the agency's id, the raw SQL check)."""
    from django.conf import settings

    settings.DATABASES[MULTI] = {**settings.DATABASES["default"], "NAME": AGENCIES_DATABASE}


def interleaved(url_one: str, token_one: str, url_multi: str, token_multi: str, runs: int):
    """(p50 one, p50 multi, last body one, last body multi): each warmed once, then request by request in turn."""
    body_one, body_multi = timed_get(url_one, token_one)[1], timed_get(url_multi, token_multi)[1]
    one, multi = [], []
    for _ in range(runs):
        elapsed, body_one = timed_get(url_one, token_one)
        one.append(elapsed)
        elapsed, body_multi = timed_get(url_multi, token_multi)
        multi.append(elapsed)
    return percentile(one, 0.5), percentile(multi, 0.5), body_one, body_multi


def raw_counts(using: str, quarter, agency_id: int) -> dict[int, tuple[int, int]]:
    """{case type id: (results, previous)} of `agency_id`'s quarter straight from the cases (report_floor's SQL)."""
    from django.db import connections

    params = {"s": quarter.start, "e": quarter.end, "ps": quarter.previous().start, "a": agency_id}
    with connections[using].cursor() as cursor:
        cursor.execute(RAW_SQL, params)
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def agrees(report: dict, counts: dict, using: str) -> bool:
    from cases.models import CaseType

    codes = dict(CaseType.objects.using(using).values_list("code", "pk"))
    return all(counts.get(codes[r["code"]], (0, 0)) == (r["count"], r["previous"]) for r in report["procedure_results"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--quarter", default="2019-Q4")
    args = parser.parse_args()
    databases_configure()
    django_setup()
    from django.db import connections

    from agencies.models import Agency, Membership
    from cases.models import Case
    from reports.quarters import Quarter
    from reports.tables import report_agency

    quarter = Quarter.parse(args.quarter)
    one_cases, multi_cases = Case.objects.count(), Case.objects.using(MULTI).count()
    multi_agencies = Agency.objects.using(MULTI).count()
    home = Membership.objects.using(MULTI).select_related("agency").get(user__username=USERS[0]).agency
    home_cases = Case.objects.using(MULTI).filter(agency=home).count()
    print(f"agencies: one agency's history, {one_cases:,} cases ({connections['default'].settings_dict['NAME']}) / {multi_agencies} agencies, "
          f"{multi_cases:,} cases, the user's {home.code} holding {home_cases:,} ({AGENCIES_DATABASE}); "
          f"{args.runs} runs each, interleaved")
    worst, worst_name = 0.0, ""
    with gunicorn() as base_one, gunicorn(database=AGENCIES_DATABASE) as base_multi:
        for username in USERS:
            token_one, token_multi = token_for(username), token_for(username, MULTI)
            for query in QUERIES:
                one, multi, _, _ = interleaved(f"{base_one}/api/v1/cases/?{query}", token_one,
                                               f"{base_multi}/api/v1/cases/?{query}", token_multi, args.runs)
                ratio = multi / one
                if ratio > worst:
                    worst, worst_name = ratio, f"{username} ?{query}"
                print(f"  {username} ?{query}: p50 1×1M {one:.1f} ms, 10×100k {multi:.1f} ms, ratio {ratio:.2f}")
        # The report: the quarter's agency of the one-agency history (read by today's agency, its successor) and
        # the user's agency of the multi-agency database.
        agency_one = report_agency(quarter, agency_ids=Agency.objects.values_list("pk", flat=True))
        token_one, token_multi = token_for("bench_reporter"), token_for("bench_reporter", MULTI)
        one, multi, body_one, body_multi = interleaved(
            f"{base_one}/api/v1/reports/quarterly/?quarter={quarter}&agency={agency_one.pk}", token_one,
            f"{base_multi}/api/v1/reports/quarterly/?quarter={quarter}&agency={home.pk}", token_multi, args.runs)
    report_ratio = multi / one
    agree = (agrees(json.loads(body_one), raw_counts("default", quarter, agency_one.pk), "default")
             and agrees(json.loads(body_multi), raw_counts(MULTI, quarter, home.pk), MULTI))
    print(f"  report {quarter}: p50 1×1M ({agency_one.code}) {one:.1f} ms, 10×100k ({home.code}) {multi:.1f} ms, "
          f"ratio {report_ratio:.2f}; same numbers as the raw SQL in both: {'yes' if agree else 'NO'}")
    print(f"  worst list: {worst_name} (ratio {worst:.2f})")
    summary("agencies: lists p50 10×100k one-agency user / 1×1M", f"{worst:.2f}", "≤ 1.20", worst <= 1.2)
    summary("agencies: report p50 10×100k one-agency user / 1×1M", f"{report_ratio:.2f}", "≤ 1.20",
            report_ratio <= 1.2 and agree)


if __name__ == "__main__":
    main()
