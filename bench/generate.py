"""python -m bench.generate --cases 1000000
python -m bench.generate --agencies 10 --cases 1000000   (10 agencies x 100,000 cases, in sttt_bench_agencies)

Creates the benchmark database (sttt_bench), migrates it and fills it with licensing cases through bulk
inserts that respect the schema (real types, terms, states, outcomes, dates, unique references), then
rebuilds the kept quarterly figures from them with the product's own rebuild (per agency, as the product keeps
them).

By default the agencies are the province's history (agencies/data/thai_binh_hung_yen.json): each case belongs to
the agency competent for its type on its receipt date (Sở TTTT Thái Bình to 28/02/2025, then the Sở VHTTDL
Thái Bình, then Hưng Yên's from 01/07/2025), and the bench users work for today's agency, which sees its
predecessors' cases, so all of them. With `--agencies N` the database (--database, else BENCH_AGENCIES_DATABASE,
default sttt_bench_agencies) holds N synthetic departments instead, each competent for every type since 2008 and
holding cases/N of the cases over the same years; the bench users work for the first one, and each other agency
has its own eight officers.
"""

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bench._setup import AGENCIES_DATABASE, database_url, django_setup

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
    import dj_database_url
    import psycopg

    db = dj_database_url.parse(os.environ["DATABASE_URL"])
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def users_create(prefix: str, agency, hashed: str) -> list:
    """A licensing team of eight (the first is `<prefix>officer`), a department head and a reporter, all working
    for `agency`; returns the officers. One password hash for all (hashing 80 passwords takes half a minute)."""
    from django.contrib.auth.models import Group, User

    from agencies.models import Membership

    groups = {group.name: group for group in Group.objects.all()}
    officers = []
    for n in range(OFFICERS):
        officer = User.objects.create(username=f"{prefix}officer" + (f"{n + 1}" if n else ""), password=hashed)
        officer.groups.add(groups["licensing_officer"])
        officers.append(officer)
    others = []
    for name in ("department_head", "reporter"):
        user = User.objects.create(username=f"{prefix}{name}", password=hashed)
        user.groups.add(groups[name])
        others.append(user)
    Membership.objects.bulk_create([Membership(user=user, agency=agency) for user in officers + others])
    return officers


def synthetic_agencies(count: int) -> list:
    """`count` departments side by side (bench-agency-01, ...), each competent for every case type since 2008,
    with its own symbol, place and head."""
    from agencies.models import Agency, Signer
    from cases.models import CaseType, CaseTypeAgency

    since = date(2008, 1, 1)
    agencies = []
    for n in range(1, count + 1):
        agency = Agency.objects.create(
            code=f"bench-agency-{n:02d}", name="Sở Văn hóa, Thể thao và Du lịch", parent_name=f"UBND TỈNH BENCH {n:02d}",
            symbol=f"SVH{n:02d}", place_name=f"Bench {n:02d}", licensing_division_symbol="QLVH", valid_from=since)
        Signer.objects.create(agency=agency, name=f"Giám đốc {n:02d}", title="GIÁM ĐỐC", valid_from=since)
        CaseTypeAgency.objects.bulk_create([CaseTypeAgency(case_type=case_type, agency=agency, valid_from=since)
                                            for case_type in CaseType.objects.all()])
        agencies.append(agency)
    return agencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000, help="in all (with --agencies, cases/N each)")
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--agencies", type=int, default=0,
                        help="N synthetic agencies side by side instead of the province's history")
    parser.add_argument("--database", help="database name (default: sttt_bench, or with --agencies "
                                           "BENCH_AGENCIES_DATABASE, else sttt_bench_agencies)")
    args = parser.parse_args()
    name = args.database or (AGENCIES_DATABASE if args.agencies else None)
    if name:
        os.environ["DATABASE_URL"] = database_url(name)  # before Django reads it, and for `migrate` below
    started = time.perf_counter()
    database_create()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], check=True, env=os.environ)
    django_setup()

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from agencies.models import Agency, Membership
    from cases.competence import agency_history_load_file
    from cases.models import Case, CaseType, CaseTypeAgency, Sequence, state_write_allowed
    from cases.workflow import Outcome, State
    from reports.services import figures_rebuild

    hashed = make_password("bench-pass-1234")
    if args.agencies:
        agencies = synthetic_agencies(args.agencies)
        team = {agency.pk: users_create("bench_" if n == 0 else f"bench_a{n + 1:02d}_", agency, hashed)
                for n, agency in enumerate(agencies)}
        home = agencies[0]
    else:
        agency_history_load_file()
        # Today's holder of the licensing procedures; it sees its predecessors' cases (all the generated ones).
        home = Agency.objects.get(code="hung-yen-svhttdl")
        officers = users_create("bench_", home, hashed)
        team = {pk: officers for pk in Agency.objects.values_list("pk", flat=True)}
    # The inspection accounts of framework_floor and photo_bomb (they create them when missing, without agency).
    for username, group in (("bench_lead", "inspection_lead"), ("bench_inspector", "inspector")):
        user = User.objects.create(username=username, password=hashed)
        user.groups.add(Group.objects.get(name=group))
        Membership.objects.create(user=user, agency=home)
    symbols = dict(Agency.objects.values_list("pk", "symbol"))
    # Who held each type when: (from, to, agency) per type, looked up in Python for each case's receipt date.
    spans: dict[int, list[tuple[date, date, int]]] = defaultdict(list)
    for row in CaseTypeAgency.objects.order_by("valid_from"):
        spans[row.case_type_id].append((row.valid_from, row.valid_to or date.max, row.agency_id))
    holders: dict[tuple[int, date], int] = {}

    def holder(case_type, day: date) -> int:
        key = (case_type.pk, day)
        if key not in holders:
            found = [agency for first, last, agency in spans[case_type.pk] if first <= day <= last]
            assert len(found) == 1, (case_type.code, day, found)
            holders[key] = found[0]
        return holders[key]

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
                # Evenly over the synthetic agencies; else the one competent on the receipt date (a case finished
                # after a reorganisation stays with the agency that received it: no transfer events here).
                agency_id = agencies[made % len(agencies)].pk if args.agencies else holder(case_type, received.date())
                officer = team[agency_id][made // len(team) % OFFICERS if args.agencies else made % OFFICERS]
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
                    agency_id=agency_id,
                    case_type=case_type, terms=terms[case_type.pk], state=state,
                    subject_name=organisation_name(organisation), summary=f"{case_type.name_vi} ({year})",
                    created_by=officer,
                    subject_address=f"Số {organisation % 300 + 1} đường Lý Bôn, phường {organisation % 19 + 1}, "
                                    f"TP Thái Bình",
                    contact_email=f"lienhe{organisation}@example.vn", contact_phone=f"0227{organisation:06d}",
                    assignee=officer, received_at=received, due_at=due, decided_at=decided, closed_at=closed,
                    outcome=outcome, clock_started_at=received, intake_completed_at=received,
                    result_number=f"{made}/GP-{symbols[agency_id]}" if outcome == Outcome.GRANTED else "",
                ))
            Case.objects.bulk_create(rows, batch_size=args.batch)
            print(f"  {made:>9,} cases", flush=True)
    Sequence.objects.bulk_create([Sequence(key=f"case:{code}", year=year, last_value=value)
                                  for (code, year), value in numbers.items()])  # new cases number on from here
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # what autovacuum does to a table this size in production
    inserted = time.perf_counter() - started
    rebuild_started = time.perf_counter()
    cells = figures_rebuild()  # every agency's figures, each case counting for the agency holding it
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    per_agency = Case.objects.order_by().values("agency_id").distinct().count()
    print(f"generated {made:,} cases ({per_agency} agencies) in {inserted:.0f} s in {connection.settings_dict['NAME']}; "
          f"figures rebuilt ({cells:,} cells) in {time.perf_counter() - rebuild_started:.0f} s")


if __name__ == "__main__":
    main()
