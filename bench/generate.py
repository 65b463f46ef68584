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
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bench._setup import django_setup

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
OFFICERS = 8
# Applicants: 10 kinds × 30 × 30 names = 9,000 organisations, each with some 110 cases over the years.
KINDS = ["Công ty TNHH", "Công ty CP", "Cơ sở in", "Nhà xuất bản", "Trường THPT", "UBND xã", "Hội", "Báo",
         "Doanh nghiệp tư nhân", "Trung tâm"]
FIRST = ["Minh", "Hoàng", "Quang", "An", "Phú", "Đông", "Tiền", "Vũ", "Kiến", "Hưng", "Quỳnh", "Thái", "Hòa",
         "Đại", "Trường", "Sao", "Việt", "Bình", "Hồng", "Thành", "Phương", "Tân", "Hải", "Ánh", "Kim", "Nam",
         "Bắc", "Trung", "Thịnh", "Lạc"]
SECOND = ["Phát", "Long", "Trung", "Khang", "Cường", "Hưng", "Hải", "Thư", "Xương", "Hà", "Phụ", "Thụy", "Bình",
          "Thành", "Giang", "Mai", "Tiến", "Minh", "Dương", "Công", "Nam", "Lộc", "Âu", "Ngọc", "Sơn", "Việt",
          "Nghĩa", "Vượng", "Hồng", "Thắng"]


def organisation_name(n: int) -> str:
    return f"{KINDS[n % 10]} {FIRST[n // 10 % 30]} {SECOND[n // 300 % 30]}"


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
    from django.utils import timezone

    from cases.models import Case, CaseType, Sequence, state_write_allowed
    from cases.workflow import Outcome, State
    from reports.services import figures_rebuild

    officers = []
    for n in range(OFFICERS):  # a licensing team of eight; bench_officer is the first
        officer = User.objects.create_user("bench_officer" + (f"{n + 1}" if n else ""), password="bench-pass-1234")
        officer.groups.add(Group.objects.get(name="licensing_officer"))
        officers.append(officer)
    for name in ("department_head", "reporter"):
        user = User.objects.create_user(f"bench_{name}", password="bench-pass-1234")
        user.groups.add(Group.objects.get(name=name))
    types = list(CaseType.objects.filter(domain="licensing"))
    terms = {t.pk: t.terms.order_by("-effective_from").first() for t in types}
    weights = [2, 9, 2, 2, 19, 2]
    rng = random.Random(1)
    start = datetime(2015, 1, 1, tzinfo=HCM)
    now = timezone.now()
    span = (now - timedelta(days=1) - start).total_seconds()
    recent = now - timedelta(days=60)  # only cases received in the last two months may still be open
    finished = [(State.ISSUED, Outcome.GRANTED)] * 86 + [(State.REFUSED, Outcome.REFUSED)] * 8 + \
        [(State.WITHDRAWN, Outcome.WITHDRAWN)] * 6
    outcomes = finished + [(State.IN_REVIEW, "")] * 25 + [(State.SUPPLEMENT_REQUESTED, "")] * 10 + \
        [(State.RECEIVED, "")] * 10
    made = 0
    numbers: dict[tuple[str, int], int] = defaultdict(int)  # the yearly reference counters, as the product keeps
    with state_write_allowed():
        while made < args.cases:
            rows = []
            for _ in range(min(args.batch, args.cases - made)):
                made += 1
                case_type = rng.choices(types, weights)[0]
                received = start + timedelta(seconds=rng.random() * span)
                due = received + timedelta(days=rng.choice([3, 15, 21, 30]))
                state, outcome = rng.choice(outcomes if received >= recent else finished)
                officer = officers[made % OFFICERS]
                decided = closed = None
                if outcome in (Outcome.GRANTED, Outcome.REFUSED):
                    decided = received + timedelta(days=rng.uniform(0.2, 35))
                    closed = decided
                elif outcome == Outcome.WITHDRAWN:
                    closed = received + timedelta(days=rng.uniform(0.2, 10))
                year = received.year
                numbers[(case_type.code, year)] += 1
                organisation = rng.randrange(9000)
                rows.append(Case(
                    uuid=uuid.UUID(int=rng.getrandbits(128)),
                    reference=f"{case_type.reference_prefix}-{year}-{numbers[(case_type.code, year)]:05d}",
                    case_type=case_type, terms=terms[case_type.pk], state=state,
                    subject_name=organisation_name(organisation), summary=f"{case_type.name_vi} ({year})",
                    created_by=officer,
                    subject_address=f"Số {organisation % 300 + 1} đường Lý Bôn, phường {organisation % 19 + 1}, "
                                    f"TP Thái Bình",
                    contact_email=f"lienhe{organisation}@example.vn", contact_phone=f"0227{organisation:06d}",
                    assignee=officer, received_at=received, due_at=due, decided_at=decided, closed_at=closed,
                    outcome=outcome, clock_started_at=received, intake_completed_at=received, result_number=f"{made}/GP-STTTT" if outcome == Outcome.GRANTED else "",
                ))
            Case.objects.bulk_create(rows, batch_size=args.batch)
            print(f"  {made:>9,} cases", flush=True)
    Sequence.objects.bulk_create([Sequence(key=f"case:{code}", year=year, last_value=value)
                                  for (code, year), value in numbers.items()])  # new cases number on from here
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does to a table this size in production
    inserted = time.perf_counter() - started
    rebuild_started = time.perf_counter()
    cells = figures_rebuild()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"generated {made:,} cases in {inserted:.0f} s; figures rebuilt ({cells:,} cells) in "
          f"{time.perf_counter() - rebuild_started:.0f} s")


if __name__ == "__main__":
    main()
