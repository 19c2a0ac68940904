"""Usage bucket draws reference their event by id, a bigint, not a ``usage:<id>`` text (issue 14).

Existing draws (and rerating take-backs) move their ``usage:<id>`` reference into the new column
and keep an empty reference; the reference index leaves empty references out.
"""

from django.db import migrations, models
from django.db.models import Q

TABLE = "subscribers_bucketmovement"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        where = "reference ~ '^usage:[0-9]{1,18}$'"
        number = "substring(reference from 7)::bigint"
    else:  # SQLite
        where = "reference LIKE 'usage:%'"
        number = "CAST(substr(reference, 7) AS INTEGER)"
    schema_editor.execute(
        f"UPDATE {TABLE} SET usage_event_id = {number}, reference = '' WHERE {where}"
    )


def backward(apps, schema_editor):
    schema_editor.execute(
        f"UPDATE {TABLE} SET reference = 'usage:' || usage_event_id, usage_event_id = NULL "
        "WHERE usage_event_id IS NOT NULL AND reference = ''"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("subscribers", "0005_prepaid_plan_renewals"),
    ]

    operations = [
        migrations.AddField(
            model_name="bucketmovement",
            name="usage_event_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveIndex(model_name="bucketmovement", name="bucket_movement_reference"),
        migrations.AddIndex(
            model_name="bucketmovement",
            index=models.Index(
                condition=~Q(reference=""), fields=["reference"], name="bucket_movement_reference"
            ),
        ),
        migrations.AddIndex(
            model_name="bucketmovement",
            index=models.Index(
                condition=Q(usage_event_id__isnull=False),
                fields=["usage_event_id"],
                name="bucket_movement_usage_event",
            ),
        ),
    ]
