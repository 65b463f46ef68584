"""The licensing procedures' legal bases as full citations (number, date, issuer, title), and the department's
mandate. Data: an administrator corrects and extends it in the admin (laws change; see DESIGN.md "Since 2019")."""

import datetime

from django.db import migrations

D = datetime.date
# number, kind, date of issue, issuer, title, mandate
INSTRUMENTS = [
    ("06/2016/TTLT-BTTTT-BNV", "Thông tư liên tịch", D(2016, 3, 10), "Bộ Thông tin và Truyền thông và Bộ Nội vụ",
     "hướng dẫn chức năng, nhiệm vụ, quyền hạn và cơ cấu tổ chức của Sở Thông tin và Truyền thông thuộc Ủy ban nhân "
     "dân tỉnh, thành phố trực thuộc Trung ương", True),
    ("103/2016/QH13", "Luật", D(2016, 4, 5), "Quốc hội", "Báo chí", False),
    ("19/2012/QH13", "Luật", D(2012, 11, 20), "Quốc hội", "Xuất bản", False),
    ("195/2013/NĐ-CP", "Nghị định", D(2013, 11, 21), "Chính phủ",
     "quy định chi tiết một số điều và biện pháp thi hành Luật Xuất bản", False),
    ("60/2014/NĐ-CP", "Nghị định", D(2014, 6, 19), "Chính phủ", "quy định về hoạt động in", False),
    ("25/2018/NĐ-CP", "Nghị định", D(2018, 2, 28), "Chính phủ",
     "sửa đổi, bổ sung một số điều của Nghị định số 60/2014/NĐ-CP ngày 19 tháng 6 năm 2014 của Chính phủ quy định "
     "về hoạt động in", False),
]
BASES = {
    "press_conference": ["103/2016/QH13"],
    "bulletin": ["103/2016/QH13"],
    "printing_licence": ["60/2014/NĐ-CP", "25/2018/NĐ-CP"],
    "print_registration": ["60/2014/NĐ-CP", "25/2018/NĐ-CP"],
    "noncommercial_publication": ["19/2012/QH13", "195/2013/NĐ-CP"],
    "publication_import": ["19/2012/QH13", "195/2013/NĐ-CP"],
}
EFFECTIVE_FROM = D(2015, 1, 1)


def load(apps, schema_editor):
    LegalInstrument = apps.get_model("cases", "LegalInstrument")
    CaseTypeTerms = apps.get_model("cases", "CaseTypeTerms")
    TermsLegalBasis = apps.get_model("cases", "TermsLegalBasis")
    instruments = {}
    for number, kind, issued_on, issuer, title, mandate in INSTRUMENTS:
        instruments[number], _ = LegalInstrument.objects.get_or_create(
            number=number, defaults={"kind": kind, "issued_on": issued_on, "issuer": issuer, "title": title,
                                     "mandate": mandate})
    for code, numbers in BASES.items():
        terms = CaseTypeTerms.objects.filter(case_type__code=code, effective_from=EFFECTIVE_FROM).first()
        if terms is None:
            continue
        for position, number in enumerate(numbers):
            TermsLegalBasis.objects.get_or_create(terms=terms, instrument=instruments[number],
                                                  defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [("cases", "0008_decisions_and_legal_bases")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
