# Field review (issue 17): review states of findings, photo-only checklist items.

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('inspections', '0004_establishment_agency_required'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='checklistitem',
            name='photo_only',
            field=models.BooleanField(default=False, help_text='The item asks only for a photo, not for a compliant / violation answer.', verbose_name='photo only'),
        ),
        migrations.AddField(
            model_name='finding',
            name='review_note',
            field=models.TextField(blank=True, editable=False, verbose_name='review note'),
        ),
        migrations.AddField(
            model_name='finding',
            name='review_state',
            field=models.CharField(choices=[('received', 'Received'), ('accepted', 'Accepted'), ('needs_correction', 'Needs correction'), ('rejected', 'Rejected')], default='received', editable=False, max_length=20, verbose_name='review'),
        ),
        migrations.AddField(
            model_name='finding',
            name='reviewed_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='reviewed at'),
        ),
        migrations.AddField(
            model_name='finding',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name='finding',
            name='result',
            field=models.CharField(choices=[('compliant', 'Compliant'), ('violation', 'Violation'), ('not_applicable', 'Not applicable'), ('photo', 'Photo taken')], max_length=20, verbose_name='result'),
        ),
    ]
