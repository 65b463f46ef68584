"""Every registry entry belongs to an agency, and every number to the agency that issued it.

Existing organisations and print facilities go to the agency of the cases that use them (the earliest dossier,
then the earliest permit), else to the first agency by date; issued documents to their case's agency. The columns
are made NOT NULL in 0005: PostgreSQL cannot alter a table with pending deferred foreign-key checks in the
transaction that filled it.
"""

import json
from datetime import date
from pathlib import Path

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

HISTORY = Path(__file__).resolve().parent.parent.parent / "agencies" / "data" / "thai_binh_hung_yen.json"


def first_agency(apps):
    """The earliest agency; an installation that holds registry rows but no agency yet (no case was ever received,
    so cases.0011 loaded none) gets the agencies of agencies/data/ first, as cases.0011 loads them."""
    Agency = apps.get_model("agencies", "Agency")
    found = Agency.objects.order_by("valid_from", "pk").first()
    if found is not None:
        return found
    data = json.loads(HISTORY.read_text(encoding="utf-8"))
    by_code = {}
    for item in data["agencies"]:
        by_code[item["code"]], _created = Agency.objects.get_or_create(code=item["code"], defaults={
            "name": item["name"], "parent_name": item.get("parent_name", ""), "symbol": item["symbol"],
            "place_name": item.get("place_name", ""),
            "licensing_division_symbol": item.get("licensing_division_symbol", ""),
            "valid_from": date.fromisoformat(item["valid_from"]),
            "valid_to": date.fromisoformat(item["valid_to"]) if item.get("valid_to") else None})
    for item in data["agencies"]:
        for code in item.get("successors", []):
            by_code[item["code"]].successors.add(by_code[code])
    return Agency.objects.order_by("valid_from", "pk").first()


def registries_to_agencies(apps, schema_editor):
    Organisation = apps.get_model("licensing", "Organisation")
    PrintFacility = apps.get_model("licensing", "PrintFacility")
    Dossier = apps.get_model("licensing", "Dossier")
    Permit = apps.get_model("licensing", "Permit")
    IssuedDocument = apps.get_model("licensing", "IssuedDocument")
    Case = apps.get_model("cases", "Case")
    IssuedDocument.objects.filter(issuer__isnull=True).update(
        issuer_id=Subquery(Case.objects.filter(pk=OuterRef("case_id")).values("agency_id")[:1]))
    if not Organisation.objects.exists() and not PrintFacility.objects.exists():
        return
    for model, link in ((Organisation, "organisation"), (PrintFacility, "print_facility")):
        users = (
            Dossier.objects.filter(**{link: OuterRef("pk")}).order_by("case__received_at", "pk"),
            Permit.objects.filter(**{"holder" if link == "organisation" else link: OuterRef("pk")})
            .order_by("issued_at", "pk"),
        )
        for rows in users:
            model.objects.filter(agency__isnull=True).update(
                agency_id=Subquery(rows.values("case__agency_id")[:1]))
    # A print facility without a case of its own follows its organisation.
    PrintFacility.objects.filter(agency__isnull=True, organisation__isnull=False).update(
        agency_id=Subquery(Organisation.objects.filter(pk=OuterRef("organisation_id")).values("agency_id")[:1]))
    if Organisation.objects.filter(agency__isnull=True).exists() or \
            PrintFacility.objects.filter(agency__isnull=True).exists():
        first = first_agency(apps)
        Organisation.objects.filter(agency__isnull=True).update(agency_id=first.pk)
        PrintFacility.objects.filter(agency__isnull=True).update(agency_id=first.pk)


class Migration(migrations.Migration):

    dependencies = [
        ("agencies", "0001_agencies"),
        ("cases", "0012_case_agency_required"),
        ("licensing", "0003_notification_sending_at"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="organisation", name="organisation_tax_code_once"),
        migrations.RemoveConstraint(model_name="issueddocument", name="document_number_once"),
        migrations.AddField(
            model_name="organisation",
            name="agency",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="organisations", to="agencies.agency", verbose_name="agency"),
        ),
        migrations.AddField(
            model_name="printfacility",
            name="agency",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="print_facilities", to="agencies.agency", verbose_name="agency"),
        ),
        migrations.AddField(
            model_name="issueddocument",
            name="issuer",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="issued_documents", to="agencies.agency", verbose_name="issued by"),
        ),
        migrations.RunPython(registries_to_agencies, migrations.RunPython.noop),
    ]
