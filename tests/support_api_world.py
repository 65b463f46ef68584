"""A small department built through the services, for tests that walk the whole API as every role: licensing
cases (one open with a file, one issued with its permit and document), two inspection campaigns in the field
(one with the inspector on its team, one of another team) each with findings, a photo, a violation with its
decided sanction, a follow-up and documents, and export jobs of two users."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from cases import roles as r
from cases import services as case_services
from inspections import services as inspection_services
from inspections.models import Campaign, Establishment, Finding, Photo, Target
from licensing import services as licensing_services
from licensing.models import IssuedDocument, Permit, PrintFacility
from reports import services as report_services
from reports.models import ExportJob

from . import support_inspections as si
from . import support_licensing as sl
from .factories import UserFactory


@dataclass
class Side:
    """The objects of one inspection campaign."""

    campaign: Campaign
    target_done: Target  # outcome: violation
    target_open: Target  # no outcome yet
    findings: list[Finding]
    photo: Photo
    violation: object
    sanction: object
    follow_up: object
    attachment: object  # a file on the campaign's case
    documents: list = field(default_factory=list)


@dataclass
class World:
    users: dict
    inspector2: object
    lead2: object
    app_open: object  # licensing case, received
    app_issued: object  # licensing case, issued
    attachment: object  # on app_open
    permit: Permit
    document: IssuedDocument
    mine: Side  # the campaign the inspector is on
    other: Side  # another team's campaign
    export_reporter: ExportJob
    export_head: ExportJob
    establishment_free: Establishment  # in no campaign
    print_facility: PrintFacility
    report: object = None  # the agency's periodic report of the quarter, open to its divisions (reports/)


def _side(*, lead, member, agency=None) -> Side:
    campaign = si.campaign_make(lead=lead, members=[member], path=("announce", "start_fieldwork"), agency=agency)
    targets = list(campaign.targets.order_by("pk"))
    target_done, target_open = targets[0], targets[1]
    findings = []
    for n, item in enumerate(si.items_of(campaign)):
        result = Finding.Result.VIOLATION if n == 0 else Finding.Result.COMPLIANT
        finding, _ = inspection_services.finding_submit(
            actor=member, uuid=uuid.uuid4(), target_id=target_done.pk, item_id=item.pk, result=result,
            device_time=timezone.now() - timedelta(minutes=5), note="Ghi nhận tại chỗ")
        findings.append(finding)
    photo = None
    for finding in findings:
        if finding.item.photo_required or photo is None:
            made, _ = inspection_services.photo_add(actor=member, uuid=uuid.uuid4(), finding_id=finding.pk,
                                                    upload=si.upload(si.image_bytes(color=(10, 20 + len(findings), 30))))
            photo = photo or made
    inspection_services.photo_thumbnail_make(photo_id=photo.pk)
    target_done = inspection_services.target_outcome_set(
        actor=member, target_id=target_done.pk, outcome="violation",
        violation_description="Không có giấy phép hoạt động in.")
    violation = target_done.violation
    sanction = inspection_services.sanction_decide(actor=lead, sanction_id=violation.sanction.pk, fine_vnd=5_000_000,
                                                   remedial_measures="Nộp lại giấy phép.")
    follow_up = inspection_services.follow_up_record(actor=lead, violation_id=violation.pk,
                                                     correction_due_on=timezone.localdate() + timedelta(days=10))
    documents = [inspection_services.visit_minutes_issue(target_id=target_done.pk),
                 inspection_services.violation_record_issue(violation_id=violation.pk)]
    photo.refresh_from_db()
    attachment, _ = case_services.attachment_add(case_id=campaign.case_id, actor=member, kind="decision",
                                                 upload=sl.upload("decision", "pdf"))
    return Side(campaign=campaign, target_done=target_done, target_open=target_open, findings=findings,
                photo=photo, violation=violation, sanction=sanction, follow_up=follow_up, attachment=attachment,
                documents=[d for d in documents if d is not None])


def _export(user, fmt: str = "csv") -> ExportJob:
    now = timezone.now()
    job = ExportJob.objects.create(requested_by=user, format=fmt, received_from=now - timedelta(days=90),
                                   received_to=now, status=ExportJob.Status.DONE, rows_total=1, rows_done=1,
                                   finished_at=now)
    job.file.save(f"export-{job.pk}.{fmt}", ContentFile(b"reference;state\r\nX;issued\r\n"))
    return job


def _periodic_report(users: dict, agency):
    """The agency's periodic report of the quarter, open to its divisions: the licensing officer sits in Phòng
    TTBCXB (I.3), the inspector in Phòng BCVT (I.2, the telecom indicators), the lead in Thanh tra (I.4), the
    reporter in Văn phòng (III)."""
    from reports import report_services as rs
    from reports.indicators import catalogue_load
    from reports.periods import Period
    from reports.quarters import Quarter

    catalogue_load()
    divisions = rs.divisions_ensure(agency)
    for code, role in (("ttbcxb", r.LICENSING_OFFICER), ("bcvt", r.INSPECTOR), ("thanhtra", r.INSPECTION_LEAD),
                       ("vanphong", r.REPORTER)):
        divisions[code].members.add(users[role])
    report, _created = rs.report_create(actor=users[r.REPORTER], agency=agency,
                                        period=Period.parse(str(Quarter.current())))
    if report.case.state == "report_draft":
        rs.report_transition(actor=users[r.REPORTER], report_id=report.pk, action="open_contributions")
    report.refresh_from_db()
    return report


def world_build(users: dict, agency=None) -> World:
    """The department of `users`; `agency` builds it in one agency (its users, and the other team's, work for it
    alone)."""
    officer, head = users[r.LICENSING_OFFICER], users[r.DEPARTMENT_HEAD]
    staff = {} if agency is None else {"agencies": [agency]}
    inspector, lead = users[r.INSPECTOR], users[r.INSPECTION_LEAD]
    si.checklists_load()

    app_open, _ = licensing_services.application_receive(
        actor=officer, procedure="printing_licence", organisation=sl.applicant("printing_licence"),
        fields=sl.dossier("printing_licence"))
    attachment, _ = case_services.attachment_add(case_id=app_open.pk, actor=officer, kind="equipment_documents",
                                                 upload=sl.upload("equipment_documents", "png"))

    procedure = "print_registration"
    app_issued, _ = licensing_services.application_receive(
        actor=officer, procedure=procedure, organisation=sl.applicant(procedure), fields=sl.dossier(procedure))
    kind, upload = sl.required_upload(procedure)
    case_services.attachment_add(case_id=app_issued.pk, actor=officer, kind=kind, upload=upload)
    for action, by in (("start_review", officer), ("propose_grant", officer), ("approve", head)):
        case_services.case_transition(case_id=app_issued.pk, actor=by, action=action, note="")
    document = licensing_services.result_issue(case_id=app_issued.pk)
    app_issued.refresh_from_db()

    inspector2 = UserFactory(roles=[r.INSPECTOR], **staff)
    lead2 = UserFactory(roles=[r.INSPECTION_LEAD], **staff)
    mine = _side(lead=lead, member=inspector, agency=agency)
    other = _side(lead=lead2, member=inspector2, agency=agency)
    free = si.shop(900, name="Cơ sở in chưa kiểm tra", agency=agency)
    report_services.figures_rebuild()  # what the worker keeps after each change: the quarter's numbers
    periodic = _periodic_report(users, app_issued.agency)

    return World(users=users, inspector2=inspector2, lead2=lead2, app_open=app_open, app_issued=app_issued,
                 attachment=attachment, permit=Permit.objects.get(case=app_issued), document=document,
                 mine=mine, other=other, export_reporter=_export(users[r.REPORTER]),
                 export_head=_export(head, "xlsx"), establishment_free=free,
                 print_facility=PrintFacility.objects.filter(agency=app_issued.agency).order_by("pk").first() or PrintFacility.objects.create(
                     agency=app_issued.agency, name="Cơ sở in Minh Khai", address="Số 45 Lý Bôn, TP Thái Bình", owner="Ông Đỗ Minh Khai",
                     equipment=[], products="Photocopy"),
                 report=periodic)
