from django.db import migrations, models


def communes_fill(apps, schema_editor):
    """The commune of each entry already stored, read from its address as the services do."""
    from inspections.communes import commune_from_address

    Establishment = apps.get_model("inspections", "Establishment")
    for row in Establishment.objects.filter(commune="").only("pk", "address").iterator():
        commune = commune_from_address(row.address)
        if commune:
            Establishment.objects.filter(pk=row.pk).update(commune=commune)


class Migration(migrations.Migration):

    dependencies = [
        ("inspections", "0004_establishment_agency_required"),
    ]

    operations = [
        migrations.AddField(
            model_name="establishment",
            name="commune",
            field=models.CharField(blank=True, db_index=True, max_length=100, verbose_name="commune"),
        ),
        migrations.RunPython(communes_fill, migrations.RunPython.noop),
    ]
