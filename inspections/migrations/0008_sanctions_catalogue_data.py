"""The sanctions catalogue of inspections/data/sanctions_catalogue.json (idempotent: rows are matched by code/key)."""

from django.db import migrations


def load(apps, schema_editor):
    from inspections.catalogue import catalogue_load

    catalogue_load(apps)


class Migration(migrations.Migration):

    dependencies = [("inspections", "0007_sanctions_catalogue_and_signed_documents")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
