"""A periodic report's world for the tests: an agency, its office, head and one writer per division, the indicators
catalogue, and helpers that walk a report through its workflow as users would."""

from types import SimpleNamespace

from agencies.models import Agency
from cases import roles as r
from reports import report_services as rs
from reports.indicators import catalogue_load
from reports.periods import Period

from .factories import UserFactory

WRITER_ROLES = {"cntt": r.LICENSING_OFFICER, "bcvt": r.INSPECTOR, "ttbcxb": r.LICENSING_OFFICER,
                "thanhtra": r.INSPECTION_LEAD, "vanphong": r.REPORTER}
TEXTS = {"I.1": "Triển khai Cổng dịch vụ công trực tuyến.\nTổ chức hội thảo về an toàn thông tin.",
         "I.2": "Kiểm tra hạ tầng kỹ thuật viễn thông thụ động.",
         "I.3": "Theo dõi thông tin báo chí trong quý.",
         "I.4": "Kiểm tra hoạt động in tại 05 cơ sở in.",
         "III": "1. Triển khai Kế hoạch năm.\n2. Tổng kết công tác năm."}


def report_world(agency_code: str = "hung-yen-svhttdl", period: str = "2026-Q3") -> SimpleNamespace:
    catalogue_load()
    agency = Agency.objects.get(code=agency_code)
    divisions = rs.divisions_ensure(agency)
    writers = {}
    for code, role in WRITER_ROLES.items():
        writers[code] = UserFactory(roles=[role], agencies=[agency])
        divisions[code].members.add(writers[code])
    office = writers["vanphong"]
    head = UserFactory(roles=[r.DEPARTMENT_HEAD], agencies=[agency])
    report, _ = rs.report_create(actor=office, agency=agency, period=Period.parse(period))
    return SimpleNamespace(agency=agency, divisions=divisions, writers=writers, office=office, head=head,
                           report=report, period=Period.parse(period))


def writer_of(world, code: str):
    return world.writers[world.report.sections.get(code=code).division.code]


def write_all(world, texts: dict | None = None) -> None:
    for code, text in (texts or TEXTS).items():
        section = world.report.sections.get(code=code)
        writer = writer_of(world, code)
        section = rs.section_edit(actor=writer, report_id=world.report.pk, code=code, text=text,
                                  version=section.version)
        rs.section_submit(actor=writer, report_id=world.report.pk, code=code, version=section.version)


def walk_to_issued(world):
    rs.report_transition(actor=world.office, report_id=world.report.pk, action="open_contributions")
    write_all(world)
    rs.report_transition(actor=world.office, report_id=world.report.pk, action="submit_for_review")
    rs.report_transition(actor=world.head, report_id=world.report.pk, action="approve_report")
    report = rs.report_issue(actor=world.office, report_id=world.report.pk)
    world.report = report
    return report
