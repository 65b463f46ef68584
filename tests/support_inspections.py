"""Helpers for the inspections tests: checklists, establishments, campaigns in a given state, findings, photos."""

import importlib
import io
import uuid
import zipfile
from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import docx
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from cases import services as case_services
from inspections import services
from inspections.models import TYPE_KINDS, ChecklistTemplate, Establishment

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


def checklists_load() -> None:
    """The shipped checklists, as migration 0002 loads them (a transaction=True test empties the tables)."""
    migration = importlib.import_module("inspections.migrations.0002_checklist_templates")
    migration.load(apps, SimpleNamespace(connection=SimpleNamespace(vendor="data-only")))


def registry_agency(kind: str):
    """The agency whose registry holds an establishment of this kind by default: the one that inspects it today (as
    services.establishment_create chooses for someone working for every agency), else the first agency."""
    from agencies.models import Agency
    from cases.competence import agencies_competent
    from cases.models import CaseType

    for case_type in CaseType.objects.filter(code__in=[c for c, kinds in TYPE_KINDS.items() if kind in kinds]):
        found = agencies_competent(case_type=case_type, day=timezone.localdate()).first()
        if found is not None:
            return found
    return Agency.objects.order_by("valid_from", "pk").first()


def shop(n: int, kind: str = Establishment.Kind.PRINT_SHOP, agency=None, **extra) -> Establishment:
    names = {Establishment.Kind.PRINT_SHOP: "Cơ sở in", Establishment.Kind.PHOTOCOPY_SHOP: "Photocopy",
             Establishment.Kind.POINT_OF_SALE: "Điểm bán SIM", Establishment.Kind.BTS_SITE: "Trạm BTS"}
    values = {"kind": kind, "name": f"{names.get(kind, 'Cơ sở')} {n}", "address": f"Số {n} Lý Bôn, TP Thái Bình",
              "latitude": "20.446300", "longitude": "106.342200"}
    if kind == Establishment.Kind.BTS_SITE:
        values.update(site_code=f"TBH{n:03d}", operator="Viettel")
    values.update(extra)
    return Establishment.objects.create(agency=agency or registry_agency(kind), **values)


def campaign_make(*, lead, members=(), type_code: str = "printing", shops: int = 2, path: tuple[str, ...] = (),
                  kind: str = Establishment.Kind.PRINT_SHOP, title: str = "Kiểm tra hoạt động in",
                  period_start: date | None = None, planner=None, agency=None):
    """A campaign planned through the service with `shops` targets (all members assigned), walked through `path`;
    `agency` names the campaign's agency (and its shops' registry) for a planner working for several."""
    establishments = [shop(Establishment.objects.count() + 1 + i, kind, agency=agency) for i in range(shops)]
    start = period_start or timezone.localdate()
    campaign, _ = services.campaign_plan(
        actor=planner or lead, case_type=type_code, title=title, legal_basis="Luật Xuất bản 2012; Nghị định 60/2014/NĐ-CP",
        scope="Các cơ sở in trên địa bàn TP Thái Bình", period_start=start, period_end=start, lead=lead,
        members=list(members), agency=agency,
        targets=[services.TargetPlan(establishment=e, inspectors=tuple(members)) for e in establishments])
    for action in path:
        case_services.case_transition(case_id=campaign.case_id, actor=planner or lead, action=action,
                                      note="Kết luận: các cơ sở chấp hành tốt." if action in {"conclude", "cancel"}
                                      else "")
    campaign.refresh_from_db()
    return campaign


def items_of(campaign) -> list:
    return list(campaign.checklist.items.order_by("order"))


def finding_body(target, item, *, result: str = "compliant", note: str = "", finding_id=None, **extra) -> dict:
    body = {"uuid": str(finding_id or uuid.uuid4()), "target": target.pk, "item": item.pk, "result": result,
            "note": note, "latitude": 20.4463129, "longitude": 106.3421871, "accuracy": 8.5,
            "device_time": timezone.now().astimezone(HCM).replace(microsecond=0).isoformat()}
    body.update(extra)
    return body


def image_bytes(*, size=(64, 48), color=(200, 30, 30), fmt: str = "JPEG", exif: bool = False) -> bytes:
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "Tablet maker"  # Make
        data[0x0132] = "2020:06:10 09:15:00"  # DateTime
        kwargs["exif"] = data.tobytes()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for cell in table._cells:
            lines += [p.text for p in cell.paragraphs]
    return "\n".join(lines)


def docx_category(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        core = archive.read("docProps/core.xml").decode()
    return core.split("<cp:category>", 1)[1].split("</cp:category>", 1)[0]


def checklist_in_force(code: str, day: date) -> ChecklistTemplate:
    return (ChecklistTemplate.objects.filter(case_type__code=code, effective_from__lte=day)
            .order_by("-effective_from", "-version").first())
