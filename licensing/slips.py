"""The one-stop shop's slips, as issued documents with their signed PDF like the results (licensing/electronic.py):

* the receipt and appointment slip (Giấy tiếp nhận hồ sơ và hẹn trả kết quả, after Mẫu số 01 of Thông tư
  01/2018/TT-VPCP): issued once per case when its dossier is received, whatever the door (counter, API, a dossier
  submitted online and received by an officer), by a task queued in the receiving transaction. It prints the
  dossier's code (the case reference) and its receipt secret (with both, whoever holds the slip follows the dossier:
  selectors.dossier_lookup), the receipt time, the papers received (the application form, then the files attached
  by kind), the time limit and the appointment (due_at), and the verification QR code;
* the supplement request slip (Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ, Mẫu số 02): one per "request a
  supplement" event, listing what is missing (the request's note and the dossier's missing files);
* the refusal to receive (Phiếu từ chối tiếp nhận giải quyết hồ sơ, Mẫu số 03): for a dossier submitted online
  and refused before receipt, when no case exists. Only its content is built here, from the submission's facts
  (refusal_to_receive_content, refusal_to_receive_render); the applicants' app stores it.

Slips are not numbered in the results' series and are never results: they count among the documents signed
(the report's "văn bản ký số"), never as permits or decisions (IssuedDocument.RESULT_KINDS). The legal instruments
they cite are data (licensing/data/one_stop_shop.json names them; the legal instruments catalogue holds them).
"""

import json
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from agencies.models import Agency
from agencies.selectors import letterhead
from cases.models import Case, CaseEvent, LegalInstrument
from cases.services import case_lock

from .display import attachment_kind_choices
from .documents import (
    RECEIPT,
    REFUSAL_TO_RECEIVE,
    SUPPLEMENT_SLIP,
    OfficialDocument,
    citation,
    document_render,
)
from .models import Dossier, IssuedDocument
from .selectors import receipt_secret_printed

DATA = Path(__file__).resolve().parent / "data" / "one_stop_shop.json"
RECEIVER = "NGƯỜI TIẾP NHẬN HỒ SƠ\n(Ký và ghi rõ họ tên)"
APPLICANT = "NGƯỜI NỘP HỒ SƠ\n(Ký và ghi rõ họ tên)"
GUIDE = "NGƯỜI HƯỚNG DẪN\n(Ký và ghi rõ họ tên)"
UNITS = {"hours": "giờ", "calendar_days": "ngày", "working_days": "ngày làm việc"}


@cache
def one_stop_shop() -> dict:
    """licensing/data/one_stop_shop.json: the reception unit's name and the instruments the slips cite."""
    return json.loads(DATA.read_text(encoding="utf-8"))


def slip_bases(day) -> list[str]:
    """ "Căn cứ …;" lines of a slip dated `day`: the instruments the data file names, in its order, as the legal
    instruments catalogue holds them and in force that day (from the data file's "in_force_from" if given, else from
    its date of issue, to its "no longer in force from"); an instrument missing from the catalogue is left out."""
    numbers = one_stop_shop()["bases"]
    starts = {number: date.fromisoformat(text) for number, text in one_stop_shop().get("in_force_from", {}).items()}
    numbers = [number for number in numbers if number not in starts or starts[number] <= day]
    in_force = Q(repealed_on__isnull=True) | Q(repealed_on__gt=day)
    found = {i.number: i for i in LegalInstrument.objects.filter(in_force, number__in=numbers, issued_on__lte=day)}
    return [f"Căn cứ {citation(kind=i.kind, number=i.number, issued_on=i.issued_on, issuer=i.issuer, title=i.title)};"
            for i in (found[n] for n in numbers if n in found)]


def moment_text(moment: datetime) -> str:
    """ "14 giờ 05 phút, ngày 03 tháng 12 năm 2026" (the form's wording), local time."""
    local = timezone.localtime(moment)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d} tháng {local:%m} năm {local:%Y}"


def _header(agency: Agency) -> dict[str, str]:
    """The slips' header: the agency over its reception unit (the forms' "CƠ QUAN …" / "BỘ PHẬN TIẾP NHẬN VÀ TRẢ
    KẾT QUẢ"), its place for the date line."""
    head = letterhead(agency)
    return {"agency_parent": head["agency_name"].upper(), "agency_name": one_stop_shop()["reception_unit"],
            "place": head["place"]}


def _person(user) -> str:
    return (user.get_full_name() or user.username) if user is not None else ""


def _contact(organisation_name: str, address: str, phone: str, email: str) -> list[tuple[str, str]]:
    lines = [("Tiếp nhận hồ sơ của", organisation_name)]
    if address:
        lines.append(("Địa chỉ", address))
    lines.append(("Số điện thoại", phone or "–"))
    lines.append(("Thư điện tử", email or "–"))
    return lines


def papers_received(case: Case) -> list[str]:
    """What the receipt lists as received: the application (the procedure's form, whose fields the dossier holds),
    then the files attached, by kind in the procedure's order, each with its file names."""
    with translation.override("vi"):
        labels = {kind: str(label) for kind, label in attachment_kind_choices(case.case_type.code)}
    by_kind: dict[str, list[str]] = {}
    for kind, name in case.attachments.order_by("uploaded_at", "id").values_list("kind", "original_name"):
        by_kind.setdefault(kind or "other", []).append(name)
    order = [kind for kind in labels if kind in by_kind] + sorted(k for k in by_kind if k not in labels)
    lines = [f"Đơn đề nghị (tờ khai) {case.case_type.name_vi.lower()}"]
    for kind in order:
        label = labels.get(kind, kind)
        lines.append(f"{label[:1].upper()}{label[1:]}: {'; '.join(by_kind[kind])}")
    return [f"{'abcdefghiklmnopqrstuvxy'[index % 23]}) {line}" for index, line in enumerate(lines)]


def time_limit_text(terms) -> str:
    if not terms.limit_amount:
        return "Không quy định thời hạn"
    return f"{terms.limit_amount:02d} {UNITS.get(terms.limit_unit, terms.limit_unit)}"


def receipt_content(case: Case, dossier: Dossier, *, online: bool = False) -> OfficialDocument:
    """The receipt and appointment slip of a received dossier (Mẫu số 01), dated its receipt."""
    organisation = dossier.organisation
    unit = one_stop_shop()["reception_unit"]
    subject = case.case_type.name_vi + (f" ({case.summary})" if case.summary else "")
    body = [("", f"{unit} {case.agency.name} tiếp nhận hồ sơ."),
            *_contact(organisation.name, organisation.address, case.contact_phone or organisation.phone,
                      case.contact_email or organisation.email),
            ("Nội dung yêu cầu giải quyết", subject),
            ("", "1. Thành phần hồ sơ nộp gồm:"),
            *[("", line) for line in papers_received(case)],
            ("2. Số lượng hồ sơ", "01 bộ"),
            ("3. Thời gian giải quyết hồ sơ theo quy định", time_limit_text(case.terms)),
            ("4. Thời gian nhận hồ sơ", moment_text(case.received_at)),
            ("5. Thời gian trả kết quả giải quyết hồ sơ",
             moment_text(case.due_at) if case.due_at else "Không quy định thời hạn"),
            ("6. Đăng ký nhận kết quả tại",
             "Cổng dịch vụ công trực tuyến của cơ quan (nhận bản điện tử có chữ ký số)" if online
             else f"{unit}, {case.agency.name}"),
            ("Mã hồ sơ", case.reference),
            ("Mã bảo mật tra cứu hồ sơ", receipt_secret_printed(dossier.receipt_secret))]
    closing = ["Tổ chức, cá nhân dùng mã hồ sơ và mã bảo mật để tra cứu tình hình giải quyết hồ sơ; đề nghị giữ "
               "kín mã bảo mật. Thời gian trả kết quả lùi lại tương ứng với thời gian tổ chức, cá nhân bổ sung, "
               "hoàn thiện hồ sơ theo yêu cầu (nếu có)."]
    return OfficialDocument(
        kind=RECEIPT, number_text="", issued_at=case.received_at, title="GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        summary=f"Mã hồ sơ: {case.reference}", legal_bases=slip_bases(timezone.localtime(case.received_at).date()),
        recipient="", body=body, closing=closing, signer_title=RECEIVER, signer_name=_person(case.created_by),
        countersigner_title="" if online else APPLICANT, **_header(case.agency))


def supplement_slip_content(case: Case, dossier: Dossier, event: CaseEvent) -> OfficialDocument:
    """The supplement request slip of one "request a supplement" event (Mẫu số 02): what is missing (the
    request's note, the dossier's required files not attached), dated the request."""
    organisation = dossier.organisation
    with translation.override("vi"):
        labels = {kind: str(label) for kind, label in attachment_kind_choices(case.case_type.code)}
    missing = [labels.get(kind, kind) for kind in (dossier.missing or [])]
    items = [event.note.strip()] if event.note.strip() else []
    items += [f"Bổ sung {label[:1].lower()}{label[1:]}" for label in missing]
    contact = _contact(organisation.name, organisation.address, case.contact_phone or organisation.phone,
                       case.contact_email or organisation.email)
    body = [("Hồ sơ của", organisation.name), *contact[1:],
            ("Mã hồ sơ", case.reference),
            ("Nội dung yêu cầu giải quyết", case.case_type.name_vi + (f" ({case.summary})" if case.summary else "")),
            ("Ngày tiếp nhận", moment_text(case.received_at)),
            ("", "Yêu cầu bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:"),
            *[("", f"{number}. {item}") for number, item in enumerate(items, start=1)]]
    guide = _person(event.actor)
    closing = ["Thời gian tổ chức, cá nhân bổ sung, hoàn thiện hồ sơ không tính vào thời hạn giải quyết; ngày hẹn "
               "trả kết quả được tính lại khi nhận đủ hồ sơ bổ sung.",
               f"Trong quá trình hoàn thiện hồ sơ nếu có vướng mắc, tổ chức, cá nhân liên hệ "
               f"{guide or one_stop_shop()['reception_unit']}, {case.agency.name} để được hướng dẫn."]
    return OfficialDocument(
        kind=SUPPLEMENT_SLIP, number_text="", issued_at=event.at, title="PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        summary=f"Mã hồ sơ: {case.reference}", legal_bases=slip_bases(timezone.localtime(event.at).date()),
        recipient="", body=body, closing=closing, signer_title=GUIDE, signer_name=guide, **_header(case.agency))


@dataclass(frozen=True)
class SubmissionFacts:
    """What a refusal to receive prints of a dossier submitted online and refused before receipt (no case yet).

    code: the submission's own code (printed as "Mã hồ sơ trực tuyến"); grounds: the provisions the refusal
    rests on ("Điều 15 Nghị định số 60/2014/NĐ-CP"), "" for none named."""

    agency: Agency
    procedure_name: str
    applicant_name: str
    applicant_address: str
    phone: str
    email: str
    summary: str
    submitted_at: datetime
    reasons: str
    refused_at: datetime
    officer_name: str = ""
    code: str = ""
    grounds: str = ""


def refusal_to_receive_content(facts: SubmissionFacts) -> OfficialDocument:
    """The refusal to receive a dossier (Mẫu số 03 of Thông tư 01/2018/TT-VPCP), built from the submission's facts
    alone: the applicants' app calls it when an officer refuses an online dossier before receipt, and stores the
    DOCX (refusal_to_receive_render) with the submission."""
    unit = one_stop_shop()["reception_unit"]
    body = [("", f"{unit} {facts.agency.name} tiếp nhận hồ sơ nộp trực tuyến."),
            *_contact(facts.applicant_name, facts.applicant_address, facts.phone, facts.email)]
    if facts.code:
        body.append(("Mã hồ sơ trực tuyến", facts.code))
    body += [("Nội dung yêu cầu giải quyết", facts.procedure_name + (f" ({facts.summary})" if facts.summary else "")),
             ("Thời gian nộp hồ sơ", moment_text(facts.submitted_at))]
    grounds = f"Căn cứ quy định tại {facts.grounds}, " if facts.grounds else ""
    body.append(("", f"{grounds}{unit} {facts.agency.name} từ chối tiếp nhận, giải quyết hồ sơ này vì lý do sau: "
                     f"{facts.reasons.strip()}"))
    return OfficialDocument(
        kind=REFUSAL_TO_RECEIVE, number_text="", issued_at=facts.refused_at,
        title="PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", summary="",
        legal_bases=slip_bases(timezone.localtime(facts.refused_at).date()), recipient="", body=body,
        closing=["Xin lỗi và hẹn gặp lại!"], signer_title=RECEIVER, signer_name=facts.officer_name,
        **_header(facts.agency))


def refusal_to_receive_render(facts: SubmissionFacts, **verification) -> bytes:
    """The refusal to receive as DOCX bytes; `verification` may give verification_code and verification_url (a
    code the caller reserved in documents/, printed with its QR code)."""
    from dataclasses import replace

    content = refusal_to_receive_content(facts)
    return document_render(replace(content, **verification) if verification else content)


# --- Issuing (tasks after commit) ---------------------------------------------------------------------------


def _online(case: Case) -> bool:
    """Was the case received from a dossier submitted online? (The applicants' app links its submission to the
    case: read through the reverse relation, without importing the app above this one.)"""
    try:
        return getattr(case, "submission", None) is not None
    except Exception:  # noqa: BLE001 - no such relation (the applicants' app not installed), or no submission
        return False


def receipt_issue(*, case_id: int) -> IssuedDocument | None:
    """The receipt of a received case, once (a redelivered task, or one for a case that has it, does nothing)."""
    from .services import _document_store, _dossier_of

    with transaction.atomic():
        case = case_lock(case_id)
        if case.case_type.domain != "licensing" or case.documents.filter(kind=IssuedDocument.Kind.RECEIPT).exists():
            return None
        dossier = _dossier_of(case)
        content = receipt_content(case, dossier, online=_online(case))
        return _document_store(case, kind=IssuedDocument.Kind.RECEIPT, content=content)


def supplement_slip_issue(*, case_id: int, event_id: int) -> IssuedDocument | None:
    """The supplement request slip of one request event, once per event."""
    from .services import _document_store, _dossier_of

    with transaction.atomic():
        case = case_lock(case_id)
        event = case.events.filter(pk=event_id, kind=CaseEvent.Kind.TRANSITION, action="request_supplement") \
            .select_related("actor").first()
        if event is None or case.documents.filter(kind=IssuedDocument.Kind.SUPPLEMENT_SLIP,
                                                  event_id=event_id).exists():
            return None
        dossier = _dossier_of(case)
        content = supplement_slip_content(case, dossier, event)
        return _document_store(case, kind=IssuedDocument.Kind.SUPPLEMENT_SLIP, content=content, event_id=event_id)
