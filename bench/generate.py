"""python -m bench.generate --cases 1000000

Creates the benchmark database (sttt_bench), migrates it and fills it with licensing cases through bulk
inserts that respect the schema (real types, terms, states, outcomes, dates, unique references), then
rebuilds the kept quarterly figures from them with the product's own rebuild.
"""

import argparse
import random
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench._setup import django_setup

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def database_create() -> None:
    import os

    import dj_database_url
    import psycopg

    db = dj_database_url.parse(os.environ["DATABASE_URL"])
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    database_create()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True)
    django_setup()

    from django.contrib.auth.models import Group, User
    from django.db import connection

    from cases.models import Case, CaseType, state_write_allowed
    from cases.workflow import Outcome, State
    from reports.services import figures_rebuild

    officer = User.objects.create_user("bench_officer", password="bench-pass-1234")
    officer.groups.add(Group.objects.get(name="licensing_officer"))
    for name in ("department_head", "reporter"):
        user = User.objects.create_user(f"bench_{name}", password="bench-pass-1234")
        user.groups.add(Group.objects.get(name=name))
    types = list(CaseType.objects.filter(domain="licensing"))
    terms = {t.pk: t.terms.order_by("-effective_from").first() for t in types}
    weights = [2, 9, 2, 2, 19, 2]
    rng = random.Random(1)
    start = datetime(2015, 1, 1, tzinfo=HCM)
    span = (datetime(2026, 9, 30, tzinfo=HCM) - start).total_seconds()
    outcomes = [(State.ISSUED, Outcome.GRANTED)] * 80 + [(State.REFUSED, Outcome.REFUSED)] * 6 + \
        [(State.WITHDRAWN, Outcome.WITHDRAWN)] * 4 + [(State.IN_REVIEW, "")] * 6 + \
        [(State.SUPPLEMENT_REQUESTED, "")] * 2 + [(State.RECEIVED, "")] * 2
    made = 0
    with state_write_allowed():
        while made < args.cases:
            rows = []
            for _ in range(min(args.batch, args.cases - made)):
                made += 1
                case_type = rng.choices(types, weights)[0]
                received = start + timedelta(seconds=rng.random() * span)
                due = received + timedelta(days=rng.choice([3, 15, 21, 30]))
                state, outcome = rng.choice(outcomes)
                decided = closed = None
                if outcome in (Outcome.GRANTED, Outcome.REFUSED):
                    decided = received + timedelta(days=rng.uniform(0.2, 35))
                    closed = decided
                elif outcome == Outcome.WITHDRAWN:
                    closed = received + timedelta(days=rng.uniform(0.2, 10))
                rows.append(Case(
                    uuid=uuid.UUID(int=rng.getrandbits(128)), reference=f"B{case_type.reference_prefix}-{made:07d}",
                    case_type=case_type, terms=terms[case_type.pk], state=state,
                    subject_name=f"Tổ chức {made % 5000}", summary=f"Hồ sơ {made}", created_by=officer,
                    assignee=officer, received_at=received, due_at=due, decided_at=decided, closed_at=closed,
                    outcome=outcome, clock_started_at=received, result_number=f"{made}/GP-STTTT" if decided else "",
                ))
            Case.objects.bulk_create(rows, batch_size=args.batch)
            print(f"  {made:>9,} cases", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    inserted = time.perf_counter() - started
    rebuild_started = time.perf_counter()
    cells = figures_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"generated {made:,} cases in {inserted:.0f} s; figures rebuilt ({cells:,} cells) in "
          f"{time.perf_counter() - rebuild_started:.0f} s")


if __name__ == "__main__":
    main()
