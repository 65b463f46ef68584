"""The inspection documents as official DOCX (licensing.documents lays them out): the visit minutes (biên bản
kiểm tra), the violation record (biên bản vi phạm hành chính) and the campaign conclusion (kết luận kiểm tra).

Functions here take stored rows and return an OfficialDocument, or render one; they write nothing.
"""

import io
import re
import zipfile
from datetime import date, datetime
from html import escape

from django.utils import timezone

from agencies.selectors import letterhead, signature_on
from licensing.documents import OfficialDocument, date_text, document_render

from .models import Campaign, Establishment, Finding, Outcome, SanctionDecision, Target, ViolationRecord
from .selectors import findings_current

# licensing.documents knows only its own kinds (permit, approval, refusal, apology); "approval" gives the plain
# layout (no "CHO PHÉP" line, no authority heading). The category in the file's properties is set right after.
LAYOUT_KIND = "approval"
CATEGORY = {
    "visit_minutes": "biên bản kiểm tra",
    "violation_record": "biên bản vi phạm hành chính",
    "conclusion": "kết luận kiểm tra",
    "decision": "quyết định kiểm tra",
    "sanction_decision": "quyết định xử phạt vi phạm hành chính",
}
# What the public verification page calls each document (documents.VerifiableDocument.kind).
KIND_LABEL = {
    "visit_minutes": "Biên bản kiểm tra",
    "violation_record": "Biên bản vi phạm hành chính",
    "conclusion": "Kết luận kiểm tra",
    "decision": "Quyết định kiểm tra",
    "sanction_decision": "Quyết định xử phạt vi phạm hành chính",
}
OFFENDER_VI = {"individual": "Cá nhân", "organisation": "Tổ chức"}

KIND_VI = {
    Establishment.Kind.OPERATOR_BRANCH: "chi nhánh doanh nghiệp viễn thông",
    Establishment.Kind.POINT_OF_SALE: "điểm cung cấp dịch vụ viễn thông",
    Establishment.Kind.BTS_SITE: "trạm BTS",
    Establishment.Kind.PRINT_SHOP: "cơ sở in",
    Establishment.Kind.PHOTOCOPY_SHOP: "cơ sở dịch vụ photocopy",
    Establishment.Kind.INTERNET_AGENT: "đại lý Internet",
    Establishment.Kind.PUBLICATION_DISTRIBUTOR: "cơ sở phát hành xuất bản phẩm",
    Establishment.Kind.EQUIPMENT_RETAILER: "cơ sở kinh doanh thiết bị viễn thông, CNTT",
}
RESULT_VI = {
    Finding.Result.COMPLIANT: "Đạt",
    Finding.Result.VIOLATION: "Vi phạm",
    Finding.Result.NOT_APPLICABLE: "Không áp dụng",
}
OUTCOME_VI = {
    Outcome.PENDING: "Chưa có kết quả",
    Outcome.COMPLIANT: "Chấp hành tốt các quy định",
    Outcome.REMINDER: "Nhắc nhở",
    Outcome.VIOLATION: "Có vi phạm hành chính",
}
# The field named in the title of the violation record, by inspection type.
SANCTION_FIELD = {
    "prepaid_sim": "viễn thông",
    "internet_service": "viễn thông, công nghệ thông tin",
    "bts_station": "viễn thông, tần số vô tuyến điện",
    "publication_distribution": "hoạt động xuất bản",
    "printing": "hoạt động in",
    "conformity_labelling": "viễn thông, công nghệ thông tin",
}


# --- Formatting --------------------------------------------------------------------------------------------


def vnd(amount: int | None) -> str:
    """5000000 → "5.000.000 đồng"."""
    return f"{amount or 0:,}".replace(",", ".") + " đồng"


def moment_text(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime("%H giờ %M, ngày %d/%m/%Y")


def day_text(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = timezone.localtime(day).date()
    return day.strftime("%d/%m/%Y")


def _sentence(text: str) -> str:
    """Text to be followed by more punctuation: without its final full stop."""
    return (text or "").strip().rstrip(".").rstrip()


def person(user) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _team_text(campaign: Campaign) -> str:
    case = campaign.case
    lead = case.assignee
    parts = [f"{person(lead)} (trưởng đoàn)"] if lead else []
    parts += [person(u) for u in case.members.order_by("last_name", "first_name", "pk") if u.pk != case.assignee_id]
    return "; ".join(parts)


def _decision_basis(campaign: Campaign) -> list[str]:
    lines = []
    if campaign.decision_number_text:
        lines.append(f"Căn cứ Quyết định số {campaign.decision_number_text} {date_text(campaign.announced_at)} "
                     f"của Giám đốc Sở về việc "
                     f"{campaign.case.subject_name[:1].lower()}{campaign.case.subject_name[1:]};")
    for basis in re.split(r"[;\n]", campaign.legal_basis):
        basis = basis.strip().rstrip(".")
        if basis:
            lines.append(basis if basis.lower().startswith("căn cứ") else f"Căn cứ {basis};")
    return lines


def _establishment_line(establishment: Establishment) -> str:
    text = f"{establishment.name} ({KIND_VI.get(establishment.kind, establishment.kind)})"
    if establishment.operator:
        text += f", thuộc {establishment.operator}"
    if establishment.site_code:
        text += f", mã trạm {establishment.site_code}"
    return text


def _finding_text(finding: Finding) -> str:
    text = RESULT_VI[finding.result]
    if finding.note:
        text += f". {_sentence(finding.note)}"
    photos = len(finding.photos.all())
    if photos:
        text += f" (kèm {photos} ảnh)"
    return text


# --- The three documents -----------------------------------------------------------------------------------


def visit_minutes_content(target: Target) -> OfficialDocument:
    campaign = target.campaign
    establishment = target.establishment
    current = findings_current(target)
    items = list(campaign.checklist.items.all())
    body = [
        ("Thời gian kiểm tra", moment_text(target.visited_at or target.outcome_at)),
        ("Địa điểm", establishment.address),
        ("Đoàn kiểm tra", _team_text(campaign)),
        ("Cơ sở được kiểm tra", _establishment_line(establishment)),
    ]
    if establishment.representative:
        body.append(("Người đại diện", establishment.representative))
    body.append(("", "Nội dung và kết quả kiểm tra:"))
    for item in items:
        finding = current.get(item.pk)
        body.append((f"{item.order}. {_sentence(item.question)}",
                     _finding_text(finding) if finding else "Không kiểm tra"))
    outcome = OUTCOME_VI[target.outcome]
    if target.outcome_note:
        outcome += f": {_sentence(target.outcome_note)}"
    violation = getattr(target, "violation", None)
    if violation is not None:
        outcome += f". Đã lập biên bản vi phạm hành chính số {violation.number_text}"
    body.append(("Kết luận tại cơ sở", outcome))
    return OfficialDocument(
        kind=LAYOUT_KIND, number_text="", issued_at=target.visited_at or target.outcome_at,
        title="BIÊN BẢN KIỂM TRA", summary=establishment.name, legal_bases=_decision_basis(campaign),
        recipient="", body=body,
        closing=["Biên bản được lập thành 02 bản có giá trị như nhau, đã đọc lại cho những người có tên trên cùng "
                 "nghe, nhất trí và ký tên; cơ sở được kiểm tra giữ 01 bản."],
        signer_title="TRƯỞNG ĐOÀN KIỂM TRA", signer_name=person(campaign.case.assignee),
        **letterhead(campaign.case.agency),
        recipients_block=["- Cơ sở được kiểm tra;", "- Lưu: hồ sơ đoàn kiểm tra."],
    )


def violation_record_content(violation: ViolationRecord) -> OfficialDocument:
    target = violation.target
    campaign = target.campaign
    establishment = target.establishment
    type_code = campaign.case.case_type.code
    sanction_basis = campaign.checklist.sanction_basis
    legal_bases = ["Căn cứ Luật Xử lý vi phạm hành chính năm 2012;"]
    if sanction_basis:
        legal_bases.append(f"Căn cứ {sanction_basis};")
    legal_bases += _decision_basis(campaign)[:1]
    violated = [f for f in findings_current(target).values() if f.result == Finding.Result.VIOLATION]
    body = [
        ("Thời gian lập biên bản", moment_text(violation.recorded_at)),
        ("Địa điểm lập biên bản", establishment.address),
        ("Người lập biên bản", person(violation.recorded_by)),
        ("Tổ chức, cá nhân vi phạm", _establishment_line(establishment)),
        ("Địa chỉ", establishment.address),
    ]
    if establishment.representative:
        body.append(("Người đại diện", establishment.representative))
    body.append(("Hành vi vi phạm", _sentence(violation.description)))
    for finding in violated:
        body.append((f"Nội dung kiểm tra {finding.item.order}",
                     f"{_sentence(finding.item.question)} — {_finding_text(finding)}"
                     + (f" ({finding.item.legal_reference})" if finding.item.legal_reference else "")))
    sanction = getattr(violation, "sanction", None)
    if sanction is not None:
        body.append(("Thời hạn ra quyết định xử phạt", moment_text(sanction.due_at)))
    return OfficialDocument(
        kind=LAYOUT_KIND, number_text=violation.number_text, issued_at=violation.recorded_at,
        title="BIÊN BẢN VI PHẠM HÀNH CHÍNH", summary=f"Trong lĩnh vực {SANCTION_FIELD.get(type_code, type_code)}",
        legal_bases=legal_bases, recipient="", body=body,
        closing=["Tổ chức, cá nhân vi phạm có quyền giải trình theo quy định tại Điều 61 Luật Xử lý vi phạm hành "
                 "chính.",
                 "Biên bản được lập thành 02 bản có giá trị như nhau, đã đọc lại cho những người có tên trên cùng "
                 "nghe, nhất trí và ký tên; giao cho tổ chức, cá nhân vi phạm 01 bản."],
        signer_title="NGƯỜI LẬP BIÊN BẢN", signer_name=person(violation.recorded_by),
        **letterhead(campaign.case.agency),
        recipients_block=["- Tổ chức, cá nhân vi phạm;", "- Lưu: hồ sơ đoàn kiểm tra."],
    )


def conclusion_content(campaign: Campaign, *, signer_name: str) -> OfficialDocument:
    case = campaign.case
    targets = list(campaign.targets.select_related("establishment", "violation__sanction").order_by("pk"))
    by_outcome = {o: sum(1 for t in targets if t.outcome == o) for o in Outcome.values}
    sanctions = [t.violation.sanction for t in targets
                 if getattr(t, "violation", None) is not None and hasattr(t.violation, "sanction")]
    decided = [s for s in sanctions if s.decided_at is not None]
    inspected = len(targets) - by_outcome[Outcome.PENDING]
    body = [
        ("Thời gian kiểm tra", f"từ ngày {day_text(campaign.period_start)} đến ngày {day_text(campaign.period_end)}"),
        ("Phạm vi, nội dung kiểm tra", campaign.scope.strip() or case.case_type.name_vi),
        ("Đoàn kiểm tra", _team_text(campaign)),
        ("Kết quả chung",
         f"Đã kiểm tra {inspected}/{len(targets)} cơ sở: {by_outcome[Outcome.COMPLIANT]} cơ sở chấp hành tốt, "
         f"{by_outcome[Outcome.REMINDER]} cơ sở bị nhắc nhở, {by_outcome[Outcome.VIOLATION]} cơ sở vi phạm; "
         f"{len(decided)} quyết định xử phạt vi phạm hành chính, tổng số tiền phạt "
         f"{vnd(sum(s.fine_vnd or 0 for s in decided))}."),
        ("", "Kết quả kiểm tra từng cơ sở:"),
    ]
    for index, target in enumerate(targets, start=1):
        text = f"{target.establishment.address}. {OUTCOME_VI[target.outcome]}"
        if target.outcome_note:
            text += f": {_sentence(target.outcome_note)}"
        violation = getattr(target, "violation", None)
        if violation is not None:
            text += f". Biên bản vi phạm hành chính số {violation.number_text}: {_sentence(violation.description)}"
            sanction = getattr(violation, "sanction", None)
            if sanction is not None and sanction.decided_at is not None:
                text += (f". Quyết định xử phạt số {sanction.number_text} ngày {day_text(sanction.decided_at)}, "
                         f"phạt tiền {vnd(sanction.fine_vnd)}")
                if sanction.remedial_measures:
                    text += f"; biện pháp khắc phục hậu quả: {_sentence(sanction.remedial_measures)}"
        body.append((f"{index}. {target.establishment.name}", text + "."))
    closing = [line.strip() for line in campaign.conclusion.splitlines() if line.strip()]
    issued_at = case.decided_at or timezone.now()
    signed = signature_on(case.agency, timezone.localtime(issued_at).date())
    return OfficialDocument(
        kind=LAYOUT_KIND, number_text="", issued_at=issued_at,
        title="KẾT LUẬN KIỂM TRA", summary=case.subject_name, legal_bases=_decision_basis(campaign),
        recipient="", body=body, closing=closing, signer_title=signed.title, signer_name=signer_name,
        **letterhead(case.agency),
        recipients_block=["- Các cơ sở được kiểm tra;", "- Giám đốc Sở (để b/c);", "- Lưu: VT, hồ sơ đoàn kiểm tra."],
    )


def decision_content(campaign: Campaign) -> OfficialDocument:
    """Quyết định kiểm tra: numbered when the campaign is announced, signed by the head of the department."""
    case = campaign.case
    issued_at = campaign.announced_at or timezone.now()
    signed = signature_on(case.agency, timezone.localtime(issued_at).date())
    bases = []
    for basis in re.split(r"[;\n]", campaign.legal_basis):
        basis = basis.strip().rstrip(".")
        if basis:
            bases.append(basis if basis.lower().startswith("căn cứ") else f"Căn cứ {basis};")
    targets = list(campaign.targets.select_related("establishment").order_by("planned_on", "pk"))
    body = [
        ("Điều 1", f"Kiểm tra {case.subject_name[:1].lower()}{case.subject_name[1:]}."),
        ("Phạm vi, nội dung kiểm tra", campaign.scope.strip() or case.case_type.name_vi),
        ("Thời gian kiểm tra",
         f"từ ngày {day_text(campaign.period_start)} đến ngày {day_text(campaign.period_end)}"),
        ("Điều 2. Thành lập Đoàn kiểm tra gồm", _team_text(campaign)),
        ("", f"Các cơ sở được kiểm tra ({len(targets)}):"),
    ]
    for index, target in enumerate(targets, start=1):
        body.append((f"{index}. {target.establishment.name}", target.establishment.address))
    body.append(("Điều 3", "Đoàn kiểm tra có trách nhiệm thực hiện kiểm tra đúng nội dung, thời gian quy định; "
                          "các cơ sở được kiểm tra có trách nhiệm cung cấp hồ sơ, tài liệu và tạo điều kiện để "
                          "Đoàn hoàn thành nhiệm vụ. Quyết định này có hiệu lực kể từ ngày ký."))
    return OfficialDocument(
        kind=LAYOUT_KIND, number_text=campaign.decision_number_text, issued_at=issued_at,
        title="QUYẾT ĐỊNH", summary=f"Về việc {case.subject_name[:1].lower()}{case.subject_name[1:]}",
        legal_bases=bases, recipient="", body=body, closing=[], signer_title=signed.title,
        signer_name=signed.name, **letterhead(case.agency),
        recipients_block=["- Như Điều 2, Điều 3;", "- Các cơ sở được kiểm tra;", "- Lưu: VT, hồ sơ đoàn kiểm tra."],
    )


def sanction_decision_content(sanction: SanctionDecision) -> OfficialDocument:
    """Quyết định xử phạt vi phạm hành chính: the provisions violated, the fine per provision, the remedial
    measures and the payment due date."""
    violation = sanction.violation
    target = violation.target
    campaign = target.campaign
    case = campaign.case
    establishment = target.establishment
    cited = list(violation.cited.select_related("provision__decree", "provision__amended_by"))
    legal_bases = ["Căn cứ Luật Xử lý vi phạm hành chính năm 2012;"]
    decrees = dict.fromkeys(f"Nghị định số {row.provision.decree.number_text}" for row in cited)
    if not decrees and campaign.checklist.sanction_basis:
        decrees = {campaign.checklist.sanction_basis: None}
    legal_bases += [f"Căn cứ {decree};" for decree in decrees]
    legal_bases.append(f"Căn cứ Biên bản vi phạm hành chính số {violation.number_text} lập "
                       f"{moment_text(violation.recorded_at)};")
    offender = violation.offender_name or establishment.name
    body = [
        ("Điều 1. Xử phạt vi phạm hành chính đối với",
         f"{OFFENDER_VI.get(violation.offender_kind, 'Tổ chức, cá nhân')}: {offender}"),
        ("Địa chỉ", establishment.address),
        ("Đã thực hiện hành vi vi phạm hành chính", _sentence(violation.description)),
    ]
    for row in cited:
        body.append((f"Quy định tại {row.provision.citation}", f"{_sentence(row.provision.text)}; "
                     f"mức phạt tiền: {vnd(row.fine_vnd)}"))
    body.append(("Tổng số tiền phạt", vnd(sanction.fine_vnd)))
    if sanction.remedial_measures:
        body.append(("Biện pháp khắc phục hậu quả", _sentence(sanction.remedial_measures)))
    body.append(("Điều 2. Thời hạn nộp tiền phạt",
                 f"Trong thời hạn {SanctionDecision.PAYMENT_DAYS} ngày, chậm nhất ngày "
                 f"{day_text(sanction.payment_due_on)}; quá thời hạn mà không chấp hành thì bị cưỡng chế thi hành "
                 "theo quy định của pháp luật."))
    body.append(("Điều 3", "Quyết định này có hiệu lực kể từ ngày ký. Tổ chức, cá nhân bị xử phạt có quyền khiếu "
                          "nại, khởi kiện đối với quyết định này theo quy định của pháp luật."))
    decided_at = sanction.decided_at or timezone.now()
    signed = signature_on(case.agency, timezone.localtime(decided_at).date(), user=sanction.decided_by)
    return OfficialDocument(
        kind=LAYOUT_KIND, number_text=sanction.number_text, issued_at=decided_at,
        title="QUYẾT ĐỊNH", summary="Xử phạt vi phạm hành chính", legal_bases=legal_bases, recipient="",
        body=body, closing=[], signer_title=signed.title, signer_name=signed.name, **letterhead(case.agency),
        recipients_block=["- Tổ chức, cá nhân bị xử phạt;", "- Kho bạc nhà nước (để thu tiền phạt);",
                          "- Lưu: VT, hồ sơ đoàn kiểm tra."],
    )


# --- Rendering ---------------------------------------------------------------------------------------------

_CATEGORY_RE = re.compile(rb"<cp:category>.*?</cp:category>", re.S)


def render(content: OfficialDocument, *, kind: str) -> bytes:
    """The DOCX bytes, with the document's own category in its properties. Equal input gives equal bytes."""
    return _category_set(document_render(content), CATEGORY[kind])


def _category_set(data: bytes, category: str) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    replacement = f"<cp:category>{escape(category, quote=False)}</cp:category>".encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                member = _CATEGORY_RE.sub(lambda _match: replacement, member, count=1)
            target.writestr(info, member)  # the same member info: same timestamps, same bytes for equal input
    return out.getvalue()
