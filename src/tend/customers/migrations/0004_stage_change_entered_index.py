"""Moves into each lifecycle stage over some periods (the journey map) read from an index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_saved_account_view"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="stagechange",
            index=models.Index(fields=["changed_at", "to_stage"], name="stage_change_entered"),
        ),
    ]
