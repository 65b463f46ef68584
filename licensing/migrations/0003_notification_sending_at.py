from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("licensing", "0002_permit_number_per_year"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="sending_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
