"""The register's keyset and filter-choice indexes, and UnitStatus: alive units by township and status, kept by triggers."""

import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor):
    from enterprises import counts

    counts.install(schema_editor, groups=["statuses"])


def uninstall(apps, schema_editor):
    from enterprises import counts

    counts.uninstall(schema_editor, groups=["statuses"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0003_roles"),
        ("enterprises", "0006_maintained_counts"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="enterprise",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["-identified_on", "-id"],
                name="enterprise_register_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="enterprise",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["township", "-identified_on", "-id"],
                name="enterprise_register_town_idx",
            ),
        ),
        *(
            migrations.AddIndex(
                model_name="enterprise",
                index=models.Index(condition=models.Q(("deleted_at__isnull", True)), fields=fields, name=name),
            )
            for name, fields in (
                ("enterprise_industry_idx", ["industry"]),
                ("enterprise_town_industry_idx", ["township", "industry"]),
                ("enterprise_premises_idx", ["premises"]),
                ("enterprise_town_premises_idx", ["township", "premises"]),
            )
        ),
        migrations.CreateModel(
            name="UnitStatus",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "未整治"), ("in_progress", "整治中"), ("rectified", "已整治")], max_length=16
                    ),
                ),
                ("n", models.IntegerField(default=0)),
                (
                    "township",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="campaign.township",
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("township", "status"), name="enterprises_unitstatus_key")],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
