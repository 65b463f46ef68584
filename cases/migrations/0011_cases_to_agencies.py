import json
from datetime import date
from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models

# An installation that already holds cases gets the agency history of agencies/data/ (Thái Bình's Sở TTTT to
# 28/02/2025 and its successors), and each case the agency competent for its type on its receipt date. A new
# installation starts without agencies: its administrator enters them, or loads a file (manage.py agencies_load).
HISTORY = Path(__file__).resolve().parent.parent.parent / "agencies" / "data" / "thai_binh_hung_yen.json"


def cases_to_agencies(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    if not Case.objects.exists():
        return
    Agency = apps.get_model("agencies", "Agency")
    Signer = apps.get_model("agencies", "Signer")
    CaseType = apps.get_model("cases", "CaseType")
    CaseTypeAgency = apps.get_model("cases", "CaseTypeAgency")
    data = json.loads(HISTORY.read_text(encoding="utf-8"))
    by_code = {}
    for item in data["agencies"]:
        by_code[item["code"]], _ = Agency.objects.get_or_create(code=item["code"], defaults={
            "name": item["name"], "parent_name": item.get("parent_name", ""), "symbol": item["symbol"],
            "place_name": item.get("place_name", ""), "licensing_division_symbol": item.get("licensing_division_symbol", ""),
            "valid_from": date.fromisoformat(item["valid_from"]),
            "valid_to": date.fromisoformat(item["valid_to"]) if item.get("valid_to") else None})
        for signer in item.get("signers", []):
            Signer.objects.get_or_create(agency=by_code[item["code"]], name=signer["name"],
                                         valid_from=date.fromisoformat(signer["valid_from"]),
                                         defaults={"title": signer["title"], "position": signer.get("position", 0),
                                                   "valid_to": date.fromisoformat(signer["valid_to"]) if signer.get("valid_to") else None})
    for item in data["agencies"]:
        for code in item.get("successors", []):
            by_code[item["code"]].successors.add(by_code[code])
    types = {t.code: t for t in CaseType.objects.all()}
    for item in data["competences"]:
        valid_from = date.fromisoformat(item["valid_from"])
        valid_to = date.fromisoformat(item["valid_to"]) if item.get("valid_to") else None
        for code in item["case_types"]:
            if code in types:
                CaseTypeAgency.objects.get_or_create(case_type=types[code], agency=by_code[item["agency"]],
                                                     valid_from=valid_from, defaults={"valid_to": valid_to})
    for row in CaseTypeAgency.objects.all():
        cases = Case.objects.filter(agency__isnull=True, case_type_id=row.case_type_id,
                                    received_at__date__gte=row.valid_from)
        if row.valid_to is not None:
            cases = cases.filter(received_at__date__lte=row.valid_to)
        cases.update(agency_id=row.agency_id)
    first = by_code[data["agencies"][0]["code"]]
    Case.objects.filter(agency__isnull=True).update(agency_id=first.pk)



class Migration(migrations.Migration):
    """Data, then NOT NULL in a migration of its own (PostgreSQL cannot alter a table with pending deferred
    foreign-key checks in the same transaction)."""

    dependencies = [("cases", "0010_agencies")]

    operations = [
        migrations.RunPython(cases_to_agencies, migrations.RunPython.noop),
    ]
