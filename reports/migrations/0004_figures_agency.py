"""The quarterly figures become per agency: the columns (nullable until 0005 gives the existing rows their agency)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("agencies", "0001_agencies"),
        ("cases", "0012_case_agency_required"),
        ("reports", "0003_closed_quarter"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="closedquarter", name="closed_quarter_once"),
        migrations.RemoveConstraint(model_name="quartercell", name="quarter_cell_once"),
        migrations.AddField(
            model_name="closedquarter",
            name="agency",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="agencies.agency"),
        ),
        migrations.AddField(
            model_name="quartercell",
            name="agency",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="agencies.agency"),
        ),
    ]
