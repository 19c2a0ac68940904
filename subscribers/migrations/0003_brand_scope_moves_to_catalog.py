"""BrandScope now lives in catalog (state only): nothing is dropped, catalog owns the tables."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_brand_scope_moves_to_catalog'),
        ('subscribers', '0002_bucketmovement_bucket_movement_reference'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.RemoveField(
                model_name='historicalbrandscope',
                name='brand',
            ),
            migrations.RemoveField(
                model_name='historicalbrandscope',
                name='history_user',
            ),
            migrations.RemoveField(
                model_name='historicalbrandscope',
                name='user',
            ),
            migrations.DeleteModel(
                name='BrandScope',
            ),
            migrations.DeleteModel(
                name='HistoricalBrandScope',
            ),
            ],
            database_operations=[],
        ),
    ]
