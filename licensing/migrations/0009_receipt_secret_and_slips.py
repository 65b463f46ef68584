"""Every dossier gets its receipt secret (existing ones too, each its own), and the one-stop-shop slips become issued
documents: a receipt once per case, a supplement request slip once per request event (as apologies)."""

from django.db import migrations, models

import licensing.models


def secrets_fill(apps, schema_editor):
    Dossier = apps.get_model("licensing", "Dossier")
    batch = []
    for dossier in Dossier.objects.filter(receipt_secret="").only("pk").iterator(chunk_size=2000):
        dossier.receipt_secret = licensing.models.receipt_secret_new()
        batch.append(dossier)
        if len(batch) >= 2000:
            Dossier.objects.bulk_update(batch, ["receipt_secret"])
            batch = []
    if batch:
        Dossier.objects.bulk_update(batch, ["receipt_secret"])


class Migration(migrations.Migration):

    dependencies = [
        ("licensing", "0008_notification_without_case"),
    ]

    operations = [
        migrations.AddField(
            model_name="dossier",
            name="receipt_secret",
            field=models.CharField(default="", editable=False, max_length=16, verbose_name="receipt secret"),
            preserve_default=False,
        ),
        migrations.RunPython(secrets_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="dossier",
            name="receipt_secret",
            field=models.CharField(default=licensing.models.receipt_secret_new, editable=False, max_length=16,
                                   verbose_name="receipt secret"),
        ),
        migrations.AlterField(
            model_name="issueddocument",
            name="kind",
            field=models.CharField(choices=[("permit", "Licence"), ("approval", "Written approval"),
                                            ("refusal", "Refusal letter"),
                                            ("apology", "Apology and new appointment"),
                                            ("receipt", "Receipt and appointment slip"),
                                            ("supplement_slip", "Supplement request slip")],
                                   max_length=20, verbose_name="kind"),
        ),
        migrations.RemoveConstraint(model_name="issueddocument", name="document_one_result_per_case"),
        migrations.RemoveConstraint(model_name="issueddocument", name="document_one_apology_per_event"),
        migrations.AddConstraint(
            model_name="issueddocument",
            constraint=models.UniqueConstraint(condition=models.Q(("kind__in", ["apology", "supplement_slip"]),
                                                                  _negated=True),
                                               fields=("case", "kind"), name="document_one_of_a_kind_per_case"),
        ),
        migrations.AddConstraint(
            model_name="issueddocument",
            constraint=models.UniqueConstraint(condition=models.Q(("kind__in", ["apology", "supplement_slip"])),
                                               fields=("case", "kind", "event_id"),
                                               name="document_one_slip_per_event"),
        ),
    ]
