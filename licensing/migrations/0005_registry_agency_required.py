import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """NOT NULL and the per-agency keys, in a transaction of their own (after 0004's data)."""

    dependencies = [("licensing", "0004_registries_to_agencies")]

    operations = [
        migrations.AlterField(
            model_name="organisation",
            name="agency",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="organisations",
                                    to="agencies.agency", verbose_name="agency"),
        ),
        migrations.AlterField(
            model_name="printfacility",
            name="agency",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="print_facilities",
                                    to="agencies.agency", verbose_name="agency"),
        ),
        migrations.AddConstraint(
            model_name="organisation",
            constraint=models.UniqueConstraint(condition=models.Q(("tax_code", ""), _negated=True),
                                               fields=("agency", "tax_code"),
                                               name="organisation_tax_code_once_per_agency"),
        ),
        migrations.AddConstraint(
            model_name="issueddocument",
            constraint=models.UniqueConstraint(condition=models.Q(("number__isnull", False)),
                                               fields=("issuer", "year", "number_text"),
                                               name="document_number_once_per_issuer"),
        ),
    ]
