"""The register's keyset and filter-choice indexes, and UnitStatus: alive units by township and status, kept by triggers."""

import django.db.models.deletion
from django.db import migrations, models


# The triggers that keep UnitStatus, and the recount that fills it, as literal SQL per
# database vendor: exactly what this migration ran when it was written, so that a database migrated
# today holds what one migrated then does. The counts unit (reports/counts/) declares what it expects
# installed now and checks it (``verify_counts``, ``check --database``); a change of that SQL comes
# with a new migration carrying the new text (docs/counting.md, "The counts unit").

FORWARD = {
    "postgresql": (
        """
CREATE OR REPLACE FUNCTION siwu_unit_statuses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO enterprises_unitstatus (township_id, status, n)
      SELECT township_id, status, COUNT(*) FROM new_rows WHERE deleted_at IS NULL GROUP BY 1, 2
      ON CONFLICT (township_id, status) DO UPDATE SET n = enterprises_unitstatus.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO enterprises_unitstatus (township_id, status, n)
      SELECT township_id, status, -COUNT(*) FROM old_rows WHERE deleted_at IS NULL GROUP BY 1, 2
      ON CONFLICT (township_id, status) DO UPDATE SET n = enterprises_unitstatus.n + excluded.n;
  ELSE
    -- Only the net change: an edit that keeps the township, status and deletion of its units
    -- writes nothing, so concurrent edits in one township do not queue on its few rows.
    INSERT INTO enterprises_unitstatus (township_id, status, n)
      SELECT township_id, status, SUM(d) FROM (
        SELECT township_id, status, -1 AS d FROM old_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT township_id, status, 1 AS d FROM new_rows WHERE deleted_at IS NULL
      ) AS changes GROUP BY 1, 2 HAVING SUM(d) <> 0
      ON CONFLICT (township_id, status) DO UPDATE SET n = enterprises_unitstatus.n + excluded.n;
  END IF;
  RETURN NULL;
END $$;
""",
        "DROP TRIGGER IF EXISTS siwu_statuses_insert ON enterprises_enterprise",
        (
            "CREATE TRIGGER siwu_statuses_insert AFTER INSERT ON enterprises_enterprise REFERENCING NEW TABLE "
            "AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_unit_statuses()"
        ),
        "DROP TRIGGER IF EXISTS siwu_statuses_update ON enterprises_enterprise",
        (
            "CREATE TRIGGER siwu_statuses_update AFTER UPDATE ON enterprises_enterprise REFERENCING OLD TABLE "
            "AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_unit_statuses()"
        ),
        "DROP TRIGGER IF EXISTS siwu_statuses_delete ON enterprises_enterprise",
        (
            "CREATE TRIGGER siwu_statuses_delete AFTER DELETE ON enterprises_enterprise REFERENCING OLD TABLE "
            "AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_unit_statuses()"
        ),
        "DELETE FROM enterprises_unitstatus",
        (
            "INSERT INTO enterprises_unitstatus (township_id, status, n) SELECT township_id, status, COUNT(*) "
            "FROM enterprises_enterprise WHERE deleted_at IS NULL GROUP BY 1, 2"
        ),
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS siwu_statuses_insert",
        (
            "CREATE TRIGGER siwu_statuses_insert AFTER INSERT ON enterprises_enterprise BEGIN INSERT INTO "
            "enterprises_unitstatus (township_id, status, n) SELECT NEW.township_id, NEW.status, 1 WHERE "
            "NEW.deleted_at IS NULL ON CONFLICT (township_id, status) DO UPDATE SET n = "
            "enterprises_unitstatus.n + excluded.n; END"
        ),
        "DROP TRIGGER IF EXISTS siwu_statuses_update",
        (
            "CREATE TRIGGER siwu_statuses_update AFTER UPDATE ON enterprises_enterprise WHEN ((OLD.deleted_at "
            "IS NOT NEW.deleted_at OR OLD.township_id <> NEW.township_id) OR OLD.status <> NEW.status) BEGIN "
            "UPDATE enterprises_unitstatus SET n = n - 1 WHERE OLD.deleted_at IS NULL AND township_id = "
            "OLD.township_id AND status = OLD.status; INSERT INTO enterprises_unitstatus (township_id, "
            "status, n) SELECT NEW.township_id, NEW.status, 1 WHERE NEW.deleted_at IS NULL ON CONFLICT "
            "(township_id, status) DO UPDATE SET n = enterprises_unitstatus.n + excluded.n; END"
        ),
        "DROP TRIGGER IF EXISTS siwu_statuses_delete",
        (
            "CREATE TRIGGER siwu_statuses_delete AFTER DELETE ON enterprises_enterprise BEGIN UPDATE "
            "enterprises_unitstatus SET n = n - 1 WHERE OLD.deleted_at IS NULL AND township_id = "
            "OLD.township_id AND status = OLD.status; END"
        ),
        "DELETE FROM enterprises_unitstatus",
        (
            "INSERT INTO enterprises_unitstatus (township_id, status, n) SELECT township_id, status, COUNT(*) "
            "FROM enterprises_enterprise WHERE deleted_at IS NULL GROUP BY 1, 2"
        ),
    ),
}

REVERSE = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS siwu_statuses_insert ON enterprises_enterprise",
        "DROP TRIGGER IF EXISTS siwu_statuses_update ON enterprises_enterprise",
        "DROP TRIGGER IF EXISTS siwu_statuses_delete ON enterprises_enterprise",
        "DROP FUNCTION IF EXISTS siwu_unit_statuses()",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS siwu_statuses_insert",
        "DROP TRIGGER IF EXISTS siwu_statuses_update",
        "DROP TRIGGER IF EXISTS siwu_statuses_delete",
    ),
}

def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for sql in statements[schema_editor.connection.vendor]:
            cursor.execute(sql)


def install(apps, schema_editor):
    _run(schema_editor, FORWARD)


def uninstall(apps, schema_editor):
    _run(schema_editor, REVERSE)


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
