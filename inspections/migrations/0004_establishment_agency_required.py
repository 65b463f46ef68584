import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """NOT NULL and the per-agency keys, in a transaction of their own (after 0003's data)."""

    dependencies = [("inspections", "0003_registry_and_numbers_to_agencies")]

    operations = [
        migrations.AlterField(
            model_name="establishment",
            name="agency",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="establishments",
                                    to="agencies.agency", verbose_name="agency"),
        ),
        migrations.AddConstraint(
            model_name="establishment",
            constraint=models.UniqueConstraint(condition=models.Q(("site_code", ""), _negated=True),
                                               fields=("agency", "operator", "site_code"),
                                               name="establishment_site_code_once_per_agency"),
        ),
        migrations.AddConstraint(
            model_name="campaign",
            constraint=models.UniqueConstraint(condition=models.Q(("decision_number__isnull", False)),
                                               fields=("decision_issuer", "decision_year", "decision_number_text"),
                                               name="campaign_decision_once_per_issuer"),
        ),
        migrations.AddConstraint(
            model_name="violationrecord",
            constraint=models.UniqueConstraint(fields=("issuer", "year", "number"),
                                               name="violation_record_number_once_per_issuer"),
        ),
        migrations.AddConstraint(
            model_name="sanctiondecision",
            constraint=models.UniqueConstraint(condition=models.Q(("number__isnull", False)),
                                               fields=("issuer", "year", "number"),
                                               name="sanction_number_once_per_issuer"),
        ),
    ]
