"""Demo department: one account per role and cases in several states, made through the services."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from cases import roles as r
from cases import services
from cases.models import Case, CaseType

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

SUBJECTS = {
    "press_conference": ("Báo Thái Bình", "Họp báo giới thiệu Ngày hội Văn hóa, Thể thao và Du lịch tỉnh"),
    "bulletin": ("Trường Đại học Thái Bình", "Bản tin Đại học Thái Bình, định kỳ 3 tháng/số"),
    "printing_licence": ("Công ty TNHH In Hoàng Long", "Cấp giấy phép hoạt động in"),
    "print_registration": ("Cơ sở in Minh Phát", "Đăng ký hoạt động cơ sở in"),
    "noncommercial_publication": ("Hội Nông dân tỉnh Thái Bình", "Tài liệu tuyên truyền kỷ niệm 130 năm thành lập tỉnh"),
    "publication_import": ("Giáo xứ Thái Bình", "Nhập khẩu 200 cuốn sách tôn giáo không kinh doanh"),
}


class Command(BaseCommand):
    help = "Load demo accounts and cases (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            users = self._accounts()
        if Case.objects.exists():
            self.stdout.write("Demo cases already present; accounts checked.")
        else:
            self._cases(users)
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD}):"))
        for username, first, last, roles, _ in ACCOUNTS:
            token = Token.objects.get(user=users[username]).key
            self.stdout.write(f"  {username:<11} {first} {last:<6} {', '.join(roles):<20} API token: {token}")

    def _accounts(self):
        User = get_user_model()
        users = {}
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

    def _cases(self, users):
        officer, head, lead = users["canbo1"], users["lanhdao"], users["truongdoan"]
        now = timezone.now()
        step = 0
        for case_type in CaseType.objects.filter(domain="licensing"):
            subject, summary = SUBJECTS[case_type.code]
            for path in ("received", "in_review", "supplement", "proposed", "issued", "refused"):
                step += 1
                received_at = now - timedelta(hours=3 if case_type.code == "press_conference" else 24 * (step % 9 + 1))
                case, _ = services.case_create(
                    actor=officer, case_type=case_type, subject_name=subject, summary=summary,
                    contact_email="lienhe@example.vn", received_at=received_at,
                )
                self._walk(case, path, officer=officer, head=head)
        for case_type in CaseType.objects.filter(domain="inspection"):
            case, _ = services.case_create(
                actor=lead, case_type=case_type, subject_name="Đợt kiểm tra quý IV/2019",
                summary=f"{case_type.name_vi} trên địa bàn tỉnh",
            )
            case.members.add(users["thanhtra1"])
            services.case_assign(case_id=case.pk, actor=lead, assignee=users["thanhtra1"])
            services.case_transition(case_id=case.pk, actor=lead, action="announce")
        self.stdout.write(f"Created {Case.objects.count()} demo cases.")

    def _walk(self, case, path, *, officer, head):
        steps = {
            "received": [],
            "in_review": [("start_review", officer, "")],
            "supplement": [("start_review", officer, ""),
                           ("request_supplement", officer, "Bổ sung bản sao giấy phép kinh doanh.")],
            "proposed": [("start_review", officer, ""), ("propose_grant", officer, "")],
            "issued": [("start_review", officer, ""), ("propose_grant", officer, ""), ("approve", head, "")],
            "refused": [("start_review", officer, ""),
                        ("propose_refusal", officer, "Nội dung không phù hợp tôn chỉ, mục đích."),
                        ("refuse", head, "Nội dung không phù hợp tôn chỉ, mục đích.")],
        }[path]
        for action, actor, note in steps:
            services.case_transition(case_id=case.pk, actor=actor, action=action, note=note)
