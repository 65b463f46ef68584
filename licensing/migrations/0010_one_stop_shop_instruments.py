"""The legal instruments the one-stop shop's slips cite (licensing/data/one_stop_shop.json names them), as rows of
the legal instruments catalogue: data an administrator corrects in the admin (title, date, when it stopped being in
force). Nghị định 118/2025/NĐ-CP replaced Nghị định 61/2018/NĐ-CP from 1 July 2025."""

import datetime

from django.db import migrations

D = datetime.date
# number, kind, date of issue, issuer, title, no longer in force from
INSTRUMENTS = [
    ("61/2018/NĐ-CP", "Nghị định", D(2018, 4, 23), "Chính phủ",
     "về thực hiện cơ chế một cửa, một cửa liên thông trong giải quyết thủ tục hành chính", D(2025, 7, 1)),
    ("118/2025/NĐ-CP", "Nghị định", D(2025, 6, 9), "Chính phủ",
     "về thực hiện thủ tục hành chính theo cơ chế một cửa, một cửa liên thông tại Bộ phận Một cửa và Cổng Dịch vụ "
     "công quốc gia", None),
    ("01/2018/TT-VPCP", "Thông tư", D(2018, 11, 23), "Văn phòng Chính phủ",
     "hướng dẫn thi hành một số quy định của Nghị định số 61/2018/NĐ-CP ngày 23 tháng 4 năm 2018 của Chính phủ về "
     "thực hiện cơ chế một cửa, một cửa liên thông trong giải quyết thủ tục hành chính", None),
]


def load(apps, schema_editor):
    LegalInstrument = apps.get_model("cases", "LegalInstrument")
    for number, kind, issued_on, issuer, title, repealed_on in INSTRUMENTS:
        LegalInstrument.objects.get_or_create(number=number, defaults={
            "kind": kind, "issued_on": issued_on, "issuer": issuer, "title": title, "mandate": False,
            "repealed_on": repealed_on})


class Migration(migrations.Migration):
    dependencies = [("licensing", "0009_receipt_secret_and_slips"), ("cases", "0017_report_domain")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
