"""Section I.4 of the periodic report, drafted from the period's inspection campaigns (read from inspections'
models; reports sits above inspections): what was inspected and where, then the reminders, violations,
sanctions and fines. The division's writer edits the draft; the text printed is the section's."""

from django.db.models import Q, Sum

from .tables import count_text

# How the report names each inspection type's work (document text: Vietnamese).
PHRASES = {
    "prepaid_sim": "Kiểm tra thuê bao di động trả trước",
    "internet_service": "Kiểm tra việc chấp hành các quy định pháp luật trong quản lý cung cấp sử dụng dịch vụ "
                        "Internet",
    "bts_station": "Kiểm tra việc chấp hành các quy định về xây dựng, lắp đặt, quản lý, vận hành trạm BTS",
    "publication_distribution": "Kiểm tra việc chấp hành các quy định pháp luật trong kinh doanh phát hành xuất bản "
                                "phẩm",
    "printing": "Kiểm tra việc chấp hành các quy định của pháp luật trong hoạt động in",
    "conformity_labelling": "Kiểm tra việc công bố, gắn dấu hợp quy, nhãn hàng hóa thiết bị điện tử, viễn thông và "
                            "công nghệ thông tin",
}
KIND_WORDS = {
    "operator_branch": "doanh nghiệp", "point_of_sale": "điểm bán", "bts_site": "trạm BTS", "print_shop": "cơ sở in",
    "photocopy_shop": "cơ sở photocopy", "internet_agent": "đại lý Internet",
    "publication_distributor": "cơ sở phát hành xuất bản phẩm", "equipment_retailer": "cửa hàng thiết bị",
}
KIND_ORDER = list(KIND_WORDS)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " và " + names[-1]


def _where(establishments: list) -> str:
    if not establishments:
        return ""
    if all(e.kind == "operator_branch" for e in establishments):
        return "tại các doanh nghiệp: " + _and([e.name for e in establishments])
    addresses = {e.address.strip() for e in establishments}
    if len(addresses) == 1 and len(establishments) > 1:
        address = addresses.pop()
        return "tại " + address[:1].lower() + address[1:]
    counts: dict[str, int] = {}
    for e in establishments:
        counts[e.kind] = counts.get(e.kind, 0) + 1
    parts = [f"{count_text(counts[kind])} {KIND_WORDS.get(kind, kind)}" for kind in KIND_ORDER if kind in counts]
    return "tại " + _and(parts) + " trên địa bàn tỉnh"


def campaigns_of(agency, start, end):
    """The agency's campaigns of the period: planned to start in it, or with an outcome recorded in it."""
    from inspections.models import Campaign

    return (Campaign.objects.filter(case__agency=agency)
            .filter(Q(period_start__gte=start.date(), period_start__lt=end.date())
                    | Q(targets__outcome_at__gte=start, targets__outcome_at__lt=end))
            .exclude(case__state="cancelled").distinct()
            .select_related("case__case_type").order_by("period_start", "pk"))


def inspections_draft(agency, start, end) -> str:
    """The draft of I.4: one paragraph naming each campaign's work and where, one with what came of it."""
    from inspections.models import Outcome, SanctionDecision, Target

    campaigns = list(campaigns_of(agency, start, end))
    if not campaigns:
        return "Trong kỳ không có cuộc thanh tra, kiểm tra."
    sentences = []
    for campaign in campaigns:
        code = campaign.case.case_type.code
        phrase = PHRASES.get(code, campaign.case.case_type.name_vi)
        establishments = [t.establishment for t in campaign.targets.select_related("establishment").order_by("pk")]
        where = _where(establishments)
        sentences.append(f"{phrase} {where}".strip())
    first = "; ".join(sentences) + "."
    targets = Target.objects.filter(campaign__in=campaigns, outcome_at__gte=start, outcome_at__lt=end)
    reminders = targets.filter(outcome=Outcome.REMINDER).count()
    violations = targets.filter(outcome=Outcome.VIOLATION).count()
    decisions = SanctionDecision.objects.filter(violation__target__campaign__in=campaigns, decided_at__gte=start,
                                                decided_at__lt=end)
    sanctions = decisions.count()
    fines = int(decisions.aggregate(total=Sum("fine_vnd"))["total"] or 0)
    results = []
    if reminders:
        results.append(f"nhắc nhở {count_text(reminders)} cơ sở hoàn thiện thủ tục, hoạt động theo đúng quy định "
                       "của pháp luật")
    if violations:
        results.append(f"phát hiện {count_text(violations)} cơ sở vi phạm")
    if sanctions:
        results.append(f"ban hành {count_text(sanctions)} quyết định xử phạt vi phạm hành chính với tổng số tiền "
                       f"phạt {count_text(fines)} đồng")
    if results:
        second = "Qua công tác kiểm tra đã kịp thời " + "; ".join(results) + "."
    else:
        second = "Qua công tác kiểm tra, các cơ sở được kiểm tra chấp hành đúng quy định của pháp luật."
    return first + "\n" + second
