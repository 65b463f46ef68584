"""Everything a periodic report prints, as plain data (JSON-able): the letterhead, number and date, title, the
sections' texts, table I.5 from the figures, table II from the indicators, III, Nơi nhận and the signer. An issued
report keeps this dict (Report.frozen) and is printed from it alone; a report not yet issued is read live."""

from django.utils import timezone

from agencies.selectors import letterhead, signature_on
from licensing.documents import date_line

from .electronic import verification_printed
from .indicators import indicators_table
from .models import Report
from .periods import Period
from .quarters import ROMAN
from .tables import count_text, quarterly_report

CONTENT_VERSION = 1
BLANK = "     "  # the number and day left blank on a draft, as the department prints its drafts


def procedures_table(agency, period: Period) -> list[list[str]]:
    """Table I.5: per procedure, the results of the period (the quarters' figures, summed for six months or a
    year): TT, name, unit, count ("01", "19")."""
    rows: dict[str, list] = {}
    for quarter in period.quarters():
        for row in quarterly_report(quarter, agency=agency)["procedure_results"]:
            entry = rows.setdefault(row["code"], [row["name"], row["unit"], 0])
            entry[2] += row["count"]
    return [[str(tt), name, unit, count_text(count)]
            for tt, (name, unit, count) in enumerate(rows.values(), start=1)]


def tasks_heading(period: Period) -> str:
    following = period.next()
    if following.kind == "quarter":
        when = f"QUÝ {ROMAN[following.number]}/{following.year}"
    else:
        when = following.words().upper()
    return f"III. MỘT SỐ NHIỆM VỤ TRỌNG TÂM {when}"


def _paragraphs(text: str) -> list[str]:
    return [line.strip() for line in (text or "").split("\n") if line.strip()]


def report_content(report: Report) -> dict:
    """The report's printed content now (for an issued report: what report_issue froze)."""
    period = Period.parse(report.period)
    agency = report.agency
    head = letterhead(agency)
    if report.issued_at is not None:
        day = report.issued_at
        number_text = report.number_text
        dated = date_line(report.issued_at, head["place"])
        signer = signature_on(agency, timezone.localtime(report.issued_at).date())
    else:
        last = period.last_day
        number_text = f"{BLANK}/BC-{agency.symbol}"
        dated = f"{head['place']}, ngày{BLANK}tháng {last.month} năm {last.year}"
        signer = signature_on(agency, last)
        day = None
    sections = {s.code: s for s in report.sections.all()}
    parts = [{"code": code, "heading": sections[code].heading, "paragraphs": _paragraphs(sections[code].text)}
             for code in ("I.1", "I.2", "I.3", "I.4") if code in sections]
    return {
        "content_version": CONTENT_VERSION,
        "period": report.period,
        "agency": {"parent": head["agency_parent"], "name": head["agency_name"], "place": head["place"],
                   "symbol": agency.symbol},
        "number_text": number_text,
        "issued_at": day.isoformat() if day else None,
        "date_line": dated,
        "title": "BÁO CÁO",
        "summary": report.summary,
        "part_one": "I. CÔNG TÁC QUẢN LÝ NHÀ NƯỚC",
        "sections": parts,
        "procedures": {"heading": "5. Kết quả thực hiện thủ tục hành chính",
                       "columns": ["TT", "Nội dung", "Đơn vị", "Số lượng"],
                       "rows": procedures_table(agency, period)},
        "indicators": {"heading": "II. HOẠT ĐỘNG SỰ NGHIỆP VÀ DỊCH VỤ",
                       "columns": ["TT", "Nội dung", "Đơn vị tính", "Kết quả trong kỳ",
                                   "Tăng+, giảm- so với kỳ trước", "Ghi chú"],
                       "rows": indicators_table(agency, period)},
        "tasks": {"heading": tasks_heading(period),
                  "paragraphs": _paragraphs(sections["III"].text) if "III" in sections else []},
        "recipients": list(report.recipients),
        "signer": {"title": signer.title, "name": signer.name},
        "verification": verification_printed(report.verification_code) if report.verification_code else None,
    }


def report_printed(report: Report) -> dict:
    """What the report prints: frozen once issued, live before."""
    return report.frozen if report.frozen is not None else report_content(report)
