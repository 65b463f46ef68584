"""The periodic report's case type and the indicators catalogue of section II (reports/data/indicators.json)."""

from datetime import date

from django.db import migrations


def load(apps, schema_editor):
    from reports.indicators import catalogue_load

    CaseType = apps.get_model("cases", "CaseType")
    CaseTypeTerms = apps.get_model("cases", "CaseTypeTerms")
    case_type, _created = CaseType.objects.get_or_create(code="periodic_report", defaults={
        "name_vi": "Báo cáo định kỳ", "name_en": "Periodic report", "domain": "report", "reference_prefix": "BC"})
    CaseTypeTerms.objects.get_or_create(case_type=case_type, effective_from=date(2000, 1, 1))
    catalogue_load(model=apps.get_model("reports", "Indicator"))


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0007_report_document"),
        ("cases", "0017_report_domain"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
