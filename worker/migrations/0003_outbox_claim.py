from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("worker", "0002_outbox_batch_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="claimed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="claimed at"),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="claimed_by",
            field=models.CharField(blank=True, max_length=200, verbose_name="claimed by"),
        ),
    ]
