import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("reports", "0005_figures_to_agencies")]

    operations = [
        migrations.AlterModelOptions(
            name="closedquarter",
            options={"ordering": ["year", "quarter", "agency"], "verbose_name": "closed quarter",
                     "verbose_name_plural": "closed quarters"},
        ),
        migrations.AlterField(
            model_name="closedquarter",
            name="agency",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="agencies.agency"),
        ),
        migrations.AlterField(
            model_name="quartercell",
            name="agency",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                    to="agencies.agency"),
        ),
        migrations.AddConstraint(
            model_name="closedquarter",
            constraint=models.UniqueConstraint(fields=("year", "quarter", "agency"),
                                               name="closed_quarter_once_per_agency"),
        ),
        migrations.AddConstraint(
            model_name="quartercell",
            constraint=models.UniqueConstraint(fields=("year", "quarter", "agency", "case_type", "metric"),
                                               name="quarter_cell_once_per_agency"),
        ),
    ]
