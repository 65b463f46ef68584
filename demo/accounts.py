"""The demo accounts: one per role (two licensing officers, two inspectors), sharing one password."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.authtoken.models import Token

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
]


def accounts_make() -> dict:
    """The accounts, their roles and API tokens (made once; checked on every run). Returns {user name: user}."""
    User = get_user_model()
    users = {}
    with transaction.atomic():
        for username, first, last, roles, superuser in ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@sotttt.example",
                          "is_staff": superuser, "is_superuser": superuser},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            user.groups.add(*Group.objects.filter(name__in=roles))
            Token.objects.get_or_create(user=user)
            users[username] = user
    return users


def logins_table(users: dict) -> list[str]:
    """One aligned line per account: user name, role, password, API token."""
    rows = [("user name", "role", "password", "API token")]
    for username, _first, _last, roles, _superuser in ACCOUNTS:
        role = ", ".join(str(r.ROLE_LABELS[role]) for role in roles)
        rows.append((username, role, DEMO_PASSWORD, Token.objects.get(user=users[username]).key))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return ["  " + "   ".join(value.ljust(width) for value, width in zip(row, widths, strict=False)) + "   " + row[3]
            for row in rows]
