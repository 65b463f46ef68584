"""Every establishment belongs to an agency, and every number to the agency that issued it.

Existing establishments go to the agency of the earliest campaign that inspected them, else to the agency of their
print facility or organisation (licensing.0004), else to the first agency by date; decisions, violation records
and sanction decisions to the agency of their campaign's case. The registry column is made NOT NULL in 0004:
PostgreSQL cannot alter a table with pending deferred foreign-key checks in the transaction that filled it.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def registry_and_numbers_to_agencies(apps, schema_editor):
    Establishment = apps.get_model("inspections", "Establishment")
    Target = apps.get_model("inspections", "Target")
    Campaign = apps.get_model("inspections", "Campaign")
    ViolationRecord = apps.get_model("inspections", "ViolationRecord")
    SanctionDecision = apps.get_model("inspections", "SanctionDecision")
    Case = apps.get_model("cases", "Case")
    Campaign.objects.filter(decision_number__isnull=False, decision_issuer__isnull=True).update(
        decision_issuer_id=Subquery(Case.objects.filter(pk=OuterRef("case_id")).values("agency_id")[:1]))
    ViolationRecord.objects.filter(issuer__isnull=True).update(issuer_id=Subquery(
        Target.objects.filter(pk=OuterRef("target_id")).values("campaign__case__agency_id")[:1]))
    SanctionDecision.objects.filter(number__isnull=False, issuer__isnull=True).update(issuer_id=Subquery(
        ViolationRecord.objects.filter(pk=OuterRef("violation_id")).values("target__campaign__case__agency_id")[:1]))
    if not Establishment.objects.exists():
        return
    Establishment.objects.filter(agency__isnull=True).update(agency_id=Subquery(
        Target.objects.filter(establishment_id=OuterRef("pk")).order_by("campaign__case__received_at", "pk")
        .values("campaign__case__agency_id")[:1]))
    PrintFacility = apps.get_model("licensing", "PrintFacility")
    Organisation = apps.get_model("licensing", "Organisation")
    Establishment.objects.filter(agency__isnull=True, print_facility__isnull=False).update(agency_id=Subquery(
        PrintFacility.objects.filter(pk=OuterRef("print_facility_id")).values("agency_id")[:1]))
    Establishment.objects.filter(agency__isnull=True, organisation__isnull=False).update(agency_id=Subquery(
        Organisation.objects.filter(pk=OuterRef("organisation_id")).values("agency_id")[:1]))
    if Establishment.objects.filter(agency__isnull=True).exists():
        first = importlib.import_module("licensing.migrations.0004_registries_to_agencies").first_agency(apps)
        Establishment.objects.filter(agency__isnull=True).update(agency_id=first.pk)


class Migration(migrations.Migration):

    dependencies = [
        ("agencies", "0001_agencies"),
        ("cases", "0012_case_agency_required"),
        ("licensing", "0005_registry_agency_required"),
        ("inspections", "0002_checklist_templates"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="establishment", name="establishment_site_code_once"),
        migrations.RemoveConstraint(model_name="campaign", name="campaign_decision_once"),
        migrations.RemoveConstraint(model_name="violationrecord", name="violation_record_number_once"),
        migrations.RemoveConstraint(model_name="sanctiondecision", name="sanction_number_once"),
        migrations.AddField(
            model_name="establishment",
            name="agency",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="establishments", to="agencies.agency", verbose_name="agency"),
        ),
        migrations.AddField(
            model_name="campaign",
            name="decision_issuer",
            field=models.ForeignKey(blank=True, editable=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="agencies.agency", verbose_name="decision issued by"),
        ),
        migrations.AddField(
            model_name="violationrecord",
            name="issuer",
            field=models.ForeignKey(blank=True, editable=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="agencies.agency", verbose_name="issued by"),
        ),
        migrations.AddField(
            model_name="sanctiondecision",
            name="issuer",
            field=models.ForeignKey(blank=True, editable=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="agencies.agency", verbose_name="issued by"),
        ),
        migrations.RunPython(registry_and_numbers_to_agencies, migrations.RunPython.noop),
    ]
