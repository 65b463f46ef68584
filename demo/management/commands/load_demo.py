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
from cases.models import Case

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

DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")
FACILITY = {"facility_name": "Công ty TNHH In Hoàng Long", "facility_address": "Số 12 Lý Bôn, TP. Thái Bình",
            "owner": "Nguyễn Văn Long", "equipment": [{"name": "Máy in offset 4 màu Heidelberg", "quantity": 2},
                                                      {"name": "Máy cắt giấy", "quantity": 1}],
            "products": "Sách, tạp chí, tờ rơi, bao bì"}
DOSSIERS = {
    "press_conference": (
        {"name": "Báo Thái Bình", "kind": "press_agency", "email": "toasoan@baothaibinh.example"},
        lambda now: {"organiser": "Sở Văn hóa, Thể thao và Du lịch", "chairperson": "Ông Trần Văn Nam",
                     "event_at": (now + timedelta(days=3)).isoformat(), "venue": "Hội trường UBND tỉnh",
                     "content": "Giới thiệu Ngày hội Văn hóa, Thể thao và Du lịch tỉnh",
                     "expected_press": ["Báo Thái Bình", "Đài PT-TH Thái Bình"]}),
    "bulletin": (
        {"name": "Trường Đại học Thái Bình", "kind": "school", "email": "vanphong@tbu.example"},
        lambda now: {"publisher": "Trường Đại học Thái Bình", "bulletin_name": "Bản tin Đại học Thái Bình",
                     "purpose": "Thông tin hoạt động đào tạo, nghiên cứu khoa học", "periodicity": "3 tháng/số",
                     "pages": 24, "copies": 500, "format": "19 x 27 cm",
                     "printing_place": "Công ty TNHH In Hoàng Long", "responsible_person": "PGS.TS. Lê Văn Hòa"}),
    "printing_licence": ({"name": "Công ty TNHH In Hoàng Long", "kind": "print_facility",
                          "tax_code": "1000123456", "email": "inhoanglong@example.vn"}, lambda now: FACILITY),
    "print_registration": (
        {"name": "Cơ sở in Minh Phát", "kind": "print_facility", "email": "minhphat@example.vn"},
        lambda now: {**FACILITY, "facility_name": "Cơ sở in Minh Phát", "facility_address": "Thị trấn Diêm Điền",
                     "owner": "Phạm Minh Phát"}),
    "noncommercial_publication": (
        {"name": "Hội Nông dân tỉnh Thái Bình", "kind": "association", "email": "hoinongdan@example.vn"},
        lambda now: {"publisher_organisation": "Hội Nông dân tỉnh Thái Bình",
                     "title": "Tài liệu tuyên truyền kỷ niệm 130 năm thành lập tỉnh", "author": "Nhiều tác giả",
                     "language": "Tiếng Việt", "pages": 64, "copies": 2000,
                     "printing_facility": "Công ty TNHH In Hoàng Long"}),
    "publication_import": (
        {"name": "Giáo xứ Thái Bình", "kind": "religious", "email": "giaoxu@example.vn"},
        lambda now: {"importer": "Giáo xứ Thái Bình", "purpose": "Sinh hoạt tôn giáo, không kinh doanh",
                     "titles": [{"title": "Sách kinh (bản tiếng Việt)", "quantity": 200, "origin": "Pháp"}]}),
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
        from django.core.files.uploadedfile import SimpleUploadedFile

        from licensing.demo_year import DemoYear
        from licensing.procedures import PROCEDURES
        from licensing.services import application_receive
        from reports.services import figures_rebuild

        officer, head, lead = users["canbo1"], users["lanhdao"], users["truongdoan"]
        made = DemoYear(officers=[users["canbo1"], users["canbo2"]], head=head).build()
        self.stdout.write(f"Built the department's year Q3/2019 to Q1/2020: {made} dossiers.")
        now = timezone.now()
        step = 0
        for code, (organisation, fields) in DOSSIERS.items():
            for path in ("received", "in_review", "supplement", "proposed", "issued", "refused"):
                step += 1
                received_at = now - timedelta(hours=3 if code == "press_conference" else 24 * (step % 9 + 1))
                case, _ = application_receive(actor=officer, procedure=code, organisation=organisation,
                                              fields=fields(now), received_at=received_at)
                if path not in ("received", "supplement"):
                    for kind, _label in PROCEDURES[code].required_files:
                        upload = SimpleUploadedFile(f"{kind}.pdf", DEMO_PDF + kind.encode(), "application/pdf")
                        services.attachment_add(case_id=case.pk, actor=officer, upload=upload, kind=kind)
                self._walk(case, path, officer=officer, head=head)
        from inspections.demo_campaigns import DemoCampaigns

        campaigns = DemoCampaigns(lead=lead, inspectors=[users["thanhtra1"], users["thanhtra2"]], head=head).build()
        self.stdout.write(f"Built {campaigns} inspection campaigns of Q4/2019 (seed section I.4).")
        figures_rebuild()  # open cases run on into today's quarter
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
