"""The demo accounts: one per role (two licensing officers, two inspectors), sharing one password, and the agencies
they worked for: Sở TTTT Thái Bình until 28/02/2025, then its successors (press and publishing to the Sở VHTTDL,
telecoms to the Sở KH&CN), Hưng Yên's departments from 01/07/2025. The Sở KH&CN has a head and an inspection lead
of its own. Memberships and signers are rows an administrator changes in the admin (Agencies)."""

from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

from agencies.models import Agency, Membership, Signer
from cases import roles as r

DEMO_PASSWORD = "demo-sttt-2026"
ACCOUNTS = [
    ("admin", "Quản trị", "Hệ thống", [r.ADMINISTRATOR], True),
    ("canbo1", "Nguyễn Thị", "Lan", [r.LICENSING_OFFICER], False),
    ("canbo2", "Trần Văn", "Minh", [r.LICENSING_OFFICER], False),
    ("lanhdao", "Phạm Quốc", "Hùng", [r.DEPARTMENT_HEAD], False),
    ("truongdoan", "Lê Văn", "Thành", [r.INSPECTION_LEAD], False),
    ("thanhtra1", "Đỗ Thị", "Hoa", [r.INSPECTOR], False),
    ("thanhtra2", "Vũ Đức", "Anh", [r.INSPECTOR], False),
    ("vanphong", "Hoàng Thị", "Mai", [r.REPORTER], False),
    ("lanhdao_khcn", "Ngô Thanh", "Tùng", [r.DEPARTMENT_HEAD], False),
    ("truongdoan_khcn", "Bùi Thị", "Hằng", [r.INSPECTION_LEAD], False),
]
# The agencies each account worked for, in order: (agency code, first day). The last one is where they work today.
PRESS = [("thai-binh-stttt", date(2019, 1, 1)), ("thai-binh-svhttdl", date(2025, 3, 1)),
         ("hung-yen-svhttdl", date(2025, 7, 1))]
TELECOMS = [("thai-binh-stttt", date(2019, 1, 1)), ("thai-binh-skhcn", date(2025, 3, 1)),
            ("hung-yen-skhcn", date(2025, 7, 1))]
SCIENCE = [("thai-binh-skhcn", date(2025, 3, 1)), ("hung-yen-skhcn", date(2025, 7, 1))]
CAREERS = {"canbo1": PRESS, "canbo2": PRESS, "lanhdao": PRESS, "truongdoan": PRESS, "thanhtra1": PRESS,
           "vanphong": PRESS, "thanhtra2": TELECOMS, "lanhdao_khcn": SCIENCE, "truongdoan_khcn": SCIENCE}
# The demo heads sign for their departments from the reorganisation on (fictional people, the accounts' names).
SIGNERS = [("lanhdao", "thai-binh-svhttdl", date(2025, 3, 1), date(2025, 6, 30)),
           ("lanhdao", "hung-yen-svhttdl", date(2025, 7, 1), None),
           ("lanhdao_khcn", "thai-binh-skhcn", date(2025, 3, 1), date(2025, 6, 30)),
           ("lanhdao_khcn", "hung-yen-skhcn", date(2025, 7, 1), None)]


def accounts_make() -> dict:
    """The accounts, their roles and API tokens (made once; checked on every run). Returns {user name: user}."""
    User = get_user_model()
    users = {}
    password = None  # hashed once: the accounts share it, and each hash takes a deliberate while
    with transaction.atomic():
        for username, first, last, roles, superuser in ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@sotttt.example",
                          "is_staff": superuser, "is_superuser": superuser},
            )
            if created:
                password = password or make_password(DEMO_PASSWORD)
                user.password = password
                user.save(update_fields=["password"])
            user.groups.add(*Group.objects.filter(name__in=roles))
            Token.objects.get_or_create(user=user)
            users[username] = user
    return users


def memberships_on(users: dict, day: date) -> None:
    """Each account works, from `day`, for the agency its career reached by then (and no longer for the one
    before): run at each reorganisation, with the clock at that day, so that the memberships' history shows it."""
    with transaction.atomic():
        for username, career in CAREERS.items():
            user = users[username]
            held = [code for code, start in career if start <= day]
            if not held:
                continue
            agencies = {agency.code: agency for agency in Agency.objects.filter(code__in=[c for c, _s in career])}
            Membership.objects.get_or_create(user=user, agency=agencies[held[-1]])
            for membership in Membership.objects.filter(user=user, agency__code__in=held[:-1]):
                membership.delete()  # one by one, so that the history records each
            for attribute in ("_sttt_agencies_member", "_sttt_agencies_visible"):
                user.__dict__.pop(attribute, None)  # the user objects live on through the whole build


def memberships_today(users: dict) -> None:
    """An account that works for no agency (a database made before agencies were data) works for the one of its
    career today; any other account is left as an administrator keeps it."""
    with transaction.atomic():
        for username, career in CAREERS.items():
            agency = Agency.objects.filter(code=career[-1][0]).first()
            if agency is not None and not Membership.objects.filter(user=users[username]).exists():
                Membership.objects.create(user=users[username], agency=agency)


def signers_make(users: dict, day: date | None = None) -> None:
    """The demo heads' signer rows that start by `day` (all without it), each made once: a row an administrator
    changed or ended stays as they left it."""
    with transaction.atomic():
        for username, code, start, end in SIGNERS:
            user = users[username]
            agency = Agency.objects.filter(code=code).first()
            if agency is None or (day is not None and start > day) \
                    or Signer.objects.filter(agency=agency, user=user).exists():
                continue
            Signer.objects.create(agency=agency, name=user.get_full_name(), title="GIÁM ĐỐC", user=user, position=0,
                                  valid_from=start, valid_to=end)


def _agency_of(user) -> str:
    if user.is_superuser:
        return "*"
    agencies = Agency.objects.filter(memberships__user=user).order_by("-valid_from", "pk")
    return ", ".join(f"{agency.symbol} {agency.place_name}" for agency in agencies)


def logins_table(users: dict) -> list[str]:
    """One aligned line per account: user name, role, agency, password, API token."""
    rows = [("user name", "role", "agency", "password", "API token")]
    for username, _first, _last, roles, _superuser in ACCOUNTS:
        role = ", ".join(str(r.ROLE_LABELS[role]) for role in roles)
        rows.append((username, role, _agency_of(users[username]), DEMO_PASSWORD,
                     Token.objects.get(user=users[username]).key))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return ["  " + "   ".join(value.ljust(width) for value, width in zip(row, widths, strict=False)) + "   " + row[4]
            for row in rows]
