"""Service quality figures of a quarter, per procedure: the processing indicators of Quyết định số 766/QĐ-TTg
ngày 23/6/2022 of the Prime Minister, "Phê duyệt Bộ chỉ số chỉ đạo, điều hành và đánh giá chất lượng phục vụ người
dân, doanh nghiệp trong thực hiện thủ tục hành chính, dịch vụ công theo thời gian thực trên môi trường điện tử".

Each figure is a share, numerator over denominator, both counts of cases that the page opens (quality_cases). The
decision's annex scores an agency out of 100 points in five groups of criteria: "Công khai, minh bạch"; "Tiến độ,
kết quả giải quyết" (handling on time: up to 20 points); "Số hóa hồ sơ"; "Cung cấp dịch vụ trực tuyến"; "Mức độ
hài lòng" (up to 18 points) — as summarised at https://baocaotaichinh.vn/thu-vien/quyet-dinh-766-qd-ttg-2022-phe-
duyet-bo-chi-so-chi-dao--dieu-hanh-va-danh-gia-chat-luong-phuc-vu-nguoi-dan--doanh-nghiep-2108502745-126270 (a
summary, not the annex). The four formulas below are the processing indicators of four of those groups that this
service can measure from its own records, and say exactly what they count; the first group (publication of the
procedures) is not measured from cases. The annex's exact wording, weights and scoring thresholds are not
reproduced here and must be checked against the published text (vanban.chinhphu.vn) before the figures are used
for the official score.

* on_time: share of the dossiers resolved in the quarter that were resolved by their due date (Phụ lục QĐ 766, group
  "Tiến độ, kết quả giải quyết": dossiers handled on time). Resolved = a grant whose result was issued in the quarter,
  or a refusal decided in the quarter: the cases behind the processing table's "Trước hạn", "Đúng hạn" and "Quá
  hạn" (reports/contributions.py), numerator the first two. The due date is the engine's: the time a case waited
  for the applicant's supplement is already netted out of due_at (the clock pauses), and a case that needed an
  apology letter is late whatever its new appointment. Withdrawn dossiers are not resolved.
* online: share of the dossiers received in the quarter that were submitted online (Phụ lục QĐ 766, group
  "Cung cấp dịch vụ trực tuyến": dossiers received online). Online = the case was received from an online submission
  (applicants.Submission with this case); denominator the processing table's "Tiếp nhận mới".
* e_delivered: share of the dossiers resolved in the quarter whose result was delivered electronically (Phụ lục QĐ
  766, group "Số hóa hồ sơ": results returned in electronic form). Delivered electronically = the applicant
  downloaded the result document through the portal (applicants.ResultDelivery of a licence, written approval or
  refusal letter: IssuedDocument.RESULT_KINDS; a receipt or a slip downloaded is not a result), at any time up to
  the moment the figure is read (the decision's figures are "real time": a result downloaded after the quarter's
  end raises that quarter's figure). Denominator as for on_time.
* satisfied: share of the ratings given in the quarter that are satisfied (Phụ lục QĐ 766, group "Mức độ hài lòng").
  Satisfied = a score of 4 or 5 ("satisfied", "very satisfied"); 3 is neutral and counts as rated, not satisfied.
  Ratings are counted in the quarter they were given, for the agency that holds the case now.

The first three count each case in the agency's figures as the processing table does (the agency that held the case
at the quarter's end: the case's cells), read from the cases' current cells: a closed quarter's kept numbers are not
involved, and a case's late change (a transfer's repair) shows here.
"""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency
from applicants.models import Rating, ResultDelivery, Submission
from cases.models import Case
from licensing.models import IssuedDocument

from .contributions import cell_key
from .quarters import Quarter

SATISFIED_FROM = 4  # Rating.Score.SATISFIED


@dataclass(frozen=True)
class Indicator:
    key: str
    label: object  # lazy text: the page's column
    label_vi: str  # the exports' column
    numerator_label: object
    denominator_label: object


INDICATORS = (
    Indicator("on_time", _("Resolved on time"), "Tỷ lệ giải quyết đúng hạn", _("resolved on time"),
              _("resolved in the quarter")),
    Indicator("online", _("Received online"), "Tỷ lệ hồ sơ trực tuyến", _("submitted online"),
              _("received in the quarter")),
    Indicator("e_delivered", _("Results delivered electronically"), "Tỷ lệ trả kết quả điện tử",
              _("result delivered electronically"), _("resolved in the quarter")),
    Indicator("satisfied", _("Satisfied"), "Tỷ lệ hài lòng", _("satisfied ratings"), _("ratings given in the quarter")),
)
INDICATOR_KEYS = tuple(indicator.key for indicator in INDICATORS)
PARTS = ("numerator", "denominator")


def _cells(quarter: Quarter, agency_id: int, metrics) -> Q:
    return Q(contribution__cells__has_any_keys=[cell_key(quarter, metric, agency_id) for metric in metrics])


def _rated_in(quarter: Quarter, *, satisfied: bool = False) -> Exists:
    ratings = Rating.objects.filter(case=OuterRef("pk"), created_at__gte=quarter.start, created_at__lt=quarter.end)
    return Exists(ratings.filter(score__gte=SATISFIED_FROM) if satisfied else ratings)


def _parts(quarter: Quarter, agency_id: int, key: str) -> tuple[Q, Q]:
    """(denominator, numerator) of one indicator as conditions on Case; the numerator's cases are among the
    denominator's."""
    resolved = _cells(quarter, agency_id, ("early", "on_time", "late"))
    if key == "on_time":
        return resolved, resolved & _cells(quarter, agency_id, ("early", "on_time"))
    if key == "online":
        received = _cells(quarter, agency_id, ("received",))
        return received, received & Q(Exists(Submission.objects.filter(case=OuterRef("pk"))))
    if key == "e_delivered":
        delivered = Exists(ResultDelivery.objects.filter(case=OuterRef("pk"),
                                                         document__kind__in=IssuedDocument.RESULT_KINDS))
        return resolved, resolved & Q(delivered)
    if key == "satisfied":
        rated = Q(_rated_in(quarter)) & Q(agency_id=agency_id)
        return rated, rated & Q(_rated_in(quarter, satisfied=True))
    raise ValueError(f"unknown indicator {key!r}")


def quality_cases(cases: QuerySet, *, quarter: Quarter, agency: Agency, indicator: str, part: str) -> QuerySet:
    """The cases behind one number of the quality table, among `cases` (the reader's visible cases, of one
    procedure): the indicator's denominator, or its numerator."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}")
    denominator, numerator = _parts(quarter, agency.pk, indicator)
    return cases.filter(numerator if part == "numerator" else denominator)


def rate_text(numerator: int, denominator: int) -> str:
    """ "85,7%" (Vietnamese decimal comma, one decimal); "–" when nothing was counted."""
    if not denominator:
        return "–"
    return f"{100 * numerator / denominator:.1f}".replace(".", ",") + "%"


def quality_table(quarter: Quarter, *, agency: Agency, case_types) -> list[dict]:
    """One row per procedure of `case_types` (in their order): for each indicator its numerator, denominator, rate
    (a float in 0..1, None when the denominator is 0) and the rate as printed. One query per indicator."""
    type_ids = [case_type.pk for case_type in case_types]
    counts: dict[tuple[str, int], tuple[int, int]] = {}
    for indicator in INDICATORS:
        denominator, numerator = _parts(quarter, agency.pk, indicator.key)
        rows = (Case.objects.filter(denominator, case_type_id__in=type_ids).values("case_type_id")
                .annotate(den=Count("pk", distinct=True), num=Count("pk", filter=numerator, distinct=True)))
        for row in rows:
            counts[(indicator.key, row["case_type_id"])] = (row["num"], row["den"])
    table = []
    for order, case_type in enumerate(case_types, start=1):
        row = {"tt": order, "code": case_type.code, "name": case_type.name_vi, "indicators": {}}
        for indicator in INDICATORS:
            num, den = counts.get((indicator.key, case_type.pk), (0, 0))
            row["indicators"][indicator.key] = {"numerator": num, "denominator": den,
                                                "rate": round(num / den, 4) if den else None,
                                                "rate_text": rate_text(num, den)}
        table.append(row)
    return table


def quality_export_rows(report: dict) -> tuple[list[str], list[list]]:
    """Headers and rows of the quality table for the CSV and XLSX exports: per indicator its numerator,
    denominator and rate as printed."""
    headers = ["TT", "Thủ tục"]
    for indicator in INDICATORS:
        headers += [f"{indicator.label_vi}: số hồ sơ đạt", f"{indicator.label_vi}: tổng số",
                    f"{indicator.label_vi} (%)"]
    rows = []
    for row in report.get("quality") or []:
        values = [row["tt"], row["name"]]
        for indicator in INDICATORS:
            cell = row["indicators"][indicator.key]
            values += [cell["numerator"], cell["denominator"], cell["rate_text"]]
        rows.append(values)
    return headers, rows
