import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("cases", "0011_cases_to_agencies")]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="agency",
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name="cases",
                                    to="agencies.agency", verbose_name="agency"),
        ),
    ]
