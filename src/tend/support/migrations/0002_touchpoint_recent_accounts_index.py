"""Touchpoints per account over the last days (the team page) read from an index alone."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="touchpoint",
            index=models.Index(
                fields=["occurred_at", "account"], name="touchpoint_recent_accounts"
            ),
        ),
    ]
