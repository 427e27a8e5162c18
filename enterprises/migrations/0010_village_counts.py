"""The per-village count tables (VillageDay, VillagePeriodDay) and the triggers that keep them.

The triggers, and the recount that fills the tables from the register, as literal SQL per database
vendor: exactly what this migration ran when it was written, so that a database migrated today holds
what one migrated then does. The counts unit (reports/counts/tables.py, group ``villages``) declares
what it expects installed now and checks it (``verify_counts``, ``check --database``); a change of
that SQL comes with a new migration carrying the new text (docs/counting.md, "The counts unit").
Units with no village are counted under village_id 0 (not NULL, which no ON CONFLICT matches).
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = {
    "postgresql": (
        """
CREATE OR REPLACE FUNCTION siwu_village_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO enterprises_villageday (township_id, village_id, day, n)
      SELECT township_id, COALESCE(village_id, 0), identified_on, COUNT(*) FROM new_rows
      WHERE deleted_at IS NULL GROUP BY 1, 2, 3
      ON CONFLICT (township_id, village_id, day) DO UPDATE SET n = enterprises_villageday.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO enterprises_villageday (township_id, village_id, day, n)
      SELECT township_id, COALESCE(village_id, 0), identified_on, -COUNT(*) FROM old_rows
      WHERE deleted_at IS NULL GROUP BY 1, 2, 3
      ON CONFLICT (township_id, village_id, day) DO UPDATE SET n = enterprises_villageday.n + excluded.n;
  ELSE
    INSERT INTO enterprises_villageday (township_id, village_id, day, n)
      SELECT township_id, village_id, day, SUM(d) FROM (
        SELECT township_id, COALESCE(village_id, 0) AS village_id, identified_on AS day, -1 AS d
        FROM old_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT township_id, COALESCE(village_id, 0), identified_on, 1 FROM new_rows WHERE deleted_at IS NULL
      ) AS changes GROUP BY 1, 2, 3 HAVING SUM(d) <> 0
      ON CONFLICT (township_id, village_id, day) DO UPDATE SET n = enterprises_villageday.n + excluded.n;
    -- A unit deleted, restored, moved to another village or township, or identified on another
    -- day takes its periods with it.
    INSERT INTO enterprises_villageperiodday (township_id, village_id, started, since, ended, n)
      SELECT township_id, village_id, started, since, ended, SUM(d) FROM (
        SELECT o.township_id, COALESCE(o.village_id, 0), r.rectified_on, GREATEST(r.rectified_on, o.identified_on), COALESCE(r.reopened_on, DATE '9999-12-31'), -1
        FROM old_rows o JOIN new_rows w ON w.id = o.id JOIN enterprises_rectification r ON r.enterprise_id = o.id
        WHERE r.deleted_at IS NULL AND o.deleted_at IS NULL AND ((o.deleted_at IS NULL) <> (w.deleted_at IS NULL) OR w.township_id <> o.township_id OR w.village_id IS DISTINCT FROM o.village_id OR w.identified_on <> o.identified_on)
        UNION ALL
        SELECT w.township_id, COALESCE(w.village_id, 0), r.rectified_on, GREATEST(r.rectified_on, w.identified_on), COALESCE(r.reopened_on, DATE '9999-12-31'), 1
        FROM old_rows o JOIN new_rows w ON w.id = o.id JOIN enterprises_rectification r ON r.enterprise_id = w.id
        WHERE r.deleted_at IS NULL AND w.deleted_at IS NULL AND ((o.deleted_at IS NULL) <> (w.deleted_at IS NULL) OR w.township_id <> o.township_id OR w.village_id IS DISTINCT FROM o.village_id OR w.identified_on <> o.identified_on)
      ) AS changes (township_id, village_id, started, since, ended, d)
      GROUP BY 1, 2, 3, 4, 5 HAVING SUM(d) <> 0
      ON CONFLICT (township_id, village_id, started, since, ended) DO UPDATE SET n = enterprises_villageperiodday.n + excluded.n;
  END IF;
  RETURN NULL;
END $$;
""",
        """
CREATE OR REPLACE FUNCTION siwu_village_periods() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO enterprises_villageperiodday (township_id, village_id, started, since, ended, n)
      SELECT e.township_id, COALESCE(e.village_id, 0), r.rectified_on, GREATEST(r.rectified_on, e.identified_on), COALESCE(r.reopened_on, DATE '9999-12-31'), COUNT(*) FROM new_rows r JOIN enterprises_enterprise e ON e.id = r.enterprise_id
      WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5
      ON CONFLICT (township_id, village_id, started, since, ended) DO UPDATE SET n = enterprises_villageperiodday.n + excluded.n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO enterprises_villageperiodday (township_id, village_id, started, since, ended, n)
      SELECT e.township_id, COALESCE(e.village_id, 0), r.rectified_on, GREATEST(r.rectified_on, e.identified_on), COALESCE(r.reopened_on, DATE '9999-12-31'), -COUNT(*) FROM old_rows r JOIN enterprises_enterprise e ON e.id = r.enterprise_id
      WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL GROUP BY 1, 2, 3, 4, 5
      ON CONFLICT (township_id, village_id, started, since, ended) DO UPDATE SET n = enterprises_villageperiodday.n + excluded.n;
  ELSE
    INSERT INTO enterprises_villageperiodday (township_id, village_id, started, since, ended, n)
      SELECT township_id, village_id, started, since, ended, SUM(d) FROM (
        SELECT e.township_id, COALESCE(e.village_id, 0), r.rectified_on, GREATEST(r.rectified_on, e.identified_on), COALESCE(r.reopened_on, DATE '9999-12-31'), -1 FROM old_rows r JOIN enterprises_enterprise e ON e.id = r.enterprise_id
        WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL
        UNION ALL
        SELECT e.township_id, COALESCE(e.village_id, 0), r.rectified_on, GREATEST(r.rectified_on, e.identified_on), COALESCE(r.reopened_on, DATE '9999-12-31'), 1 FROM new_rows r JOIN enterprises_enterprise e ON e.id = r.enterprise_id
        WHERE r.deleted_at IS NULL AND e.deleted_at IS NULL
      ) AS changes (township_id, village_id, started, since, ended, d)
      GROUP BY 1, 2, 3, 4, 5 HAVING SUM(d) <> 0
      ON CONFLICT (township_id, village_id, started, since, ended) DO UPDATE SET n = enterprises_villageperiodday.n + excluded.n;
  END IF;
  RETURN NULL;
END $$;
""",
        "DROP TRIGGER IF EXISTS siwu_villages_insert ON enterprises_enterprise",
        (
            "CREATE TRIGGER siwu_villages_insert AFTER INSERT ON enterprises_enterprise REFERENCING NEW TABLE AS "
            "new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_village_days()"
        ),
        "DROP TRIGGER IF EXISTS siwu_villages_update ON enterprises_enterprise",
        (
            "CREATE TRIGGER siwu_villages_update AFTER UPDATE ON enterprises_enterprise REFERENCING OLD TABLE AS "
            "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_village_days()"
        ),
        "DROP TRIGGER IF EXISTS siwu_villages_delete ON enterprises_enterprise",
        (
            "CREATE TRIGGER siwu_villages_delete AFTER DELETE ON enterprises_enterprise REFERENCING OLD TABLE AS "
            "old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_village_days()"
        ),
        "DROP TRIGGER IF EXISTS siwu_village_periods_insert ON enterprises_rectification",
        (
            "CREATE TRIGGER siwu_village_periods_insert AFTER INSERT ON enterprises_rectification REFERENCING NEW"
            " TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_village_periods()"
        ),
        "DROP TRIGGER IF EXISTS siwu_village_periods_update ON enterprises_rectification",
        (
            "CREATE TRIGGER siwu_village_periods_update AFTER UPDATE ON enterprises_rectification REFERENCING OLD"
            " TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_village_periods()"
        ),
        "DROP TRIGGER IF EXISTS siwu_village_periods_delete ON enterprises_rectification",
        (
            "CREATE TRIGGER siwu_village_periods_delete AFTER DELETE ON enterprises_rectification REFERENCING OLD"
            " TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_village_periods()"
        ),
        "DELETE FROM enterprises_villageday",
        (
            "INSERT INTO enterprises_villageday (township_id, village_id, day, n) SELECT township_id, "
            "COALESCE(village_id, 0), identified_on, COUNT(*) FROM enterprises_enterprise WHERE deleted_at IS "
            "NULL GROUP BY 1, 2, 3"
        ),
        "DELETE FROM enterprises_villageperiodday",
        (
            "INSERT INTO enterprises_villageperiodday (township_id, village_id, started, since, ended, n) SELECT "
            "e.township_id, COALESCE(e.village_id, 0), r.rectified_on, GREATEST(r.rectified_on, e.identified_on),"
            " COALESCE(r.reopened_on, DATE '9999-12-31'), COUNT(*) FROM enterprises_rectification r JOIN "
            "enterprises_enterprise e ON e.id = r.enterprise_id WHERE r.deleted_at IS NULL AND e.deleted_at IS "
            "NULL GROUP BY 1, 2, 3, 4, 5"
        ),
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS siwu_villages_insert",
        (
            "CREATE TRIGGER siwu_villages_insert AFTER INSERT ON enterprises_enterprise BEGIN INSERT INTO "
            "enterprises_villageday (township_id, village_id, day, n) SELECT NEW.township_id, "
            "COALESCE(NEW.village_id, 0), NEW.identified_on, 1 WHERE NEW.deleted_at IS NULL ON CONFLICT "
            "(township_id, village_id, day) DO UPDATE SET n = enterprises_villageday.n + excluded.n; END"
        ),
        "DROP TRIGGER IF EXISTS siwu_villages_update",
        (
            "CREATE TRIGGER siwu_villages_update AFTER UPDATE ON enterprises_enterprise WHEN (OLD.deleted_at IS "
            "NOT NEW.deleted_at OR OLD.township_id <> NEW.township_id OR OLD.village_id IS NOT NEW.village_id OR "
            "OLD.identified_on <> NEW.identified_on) BEGIN UPDATE enterprises_villageday SET n = n - 1 WHERE "
            "OLD.deleted_at IS NULL AND township_id = OLD.township_id AND village_id = COALESCE(OLD.village_id, "
            "0) AND day = OLD.identified_on; INSERT INTO enterprises_villageday (township_id, village_id, day, n)"
            " SELECT NEW.township_id, COALESCE(NEW.village_id, 0), NEW.identified_on, 1 WHERE NEW.deleted_at IS "
            "NULL ON CONFLICT (township_id, village_id, day) DO UPDATE SET n = enterprises_villageday.n + "
            "excluded.n; UPDATE enterprises_villageperiodday SET n = enterprises_villageperiodday.n - x.n FROM "
            "(SELECT r.rectified_on AS started, MAX(r.rectified_on, OLD.identified_on) AS since, "
            "COALESCE(r.reopened_on, '9999-12-31') AS ended, COUNT(*) AS n FROM enterprises_rectification r WHERE"
            " r.enterprise_id = OLD.id AND r.deleted_at IS NULL GROUP BY 1, 2, 3) AS x WHERE OLD.deleted_at IS "
            "NULL AND enterprises_villageperiodday.township_id = OLD.township_id AND "
            "enterprises_villageperiodday.village_id = COALESCE(OLD.village_id, 0) AND "
            "enterprises_villageperiodday.started = x.started AND enterprises_villageperiodday.since = x.since "
            "AND enterprises_villageperiodday.ended = x.ended; INSERT INTO enterprises_villageperiodday "
            "(township_id, village_id, started, since, ended, n) SELECT NEW.township_id, COALESCE(NEW.village_id,"
            " 0), x.started, x.since, x.ended, x.n FROM (SELECT r.rectified_on AS started, MAX(r.rectified_on, "
            "NEW.identified_on) AS since, COALESCE(r.reopened_on, '9999-12-31') AS ended, COUNT(*) AS n FROM "
            "enterprises_rectification r WHERE r.enterprise_id = NEW.id AND r.deleted_at IS NULL GROUP BY 1, 2, "
            "3) AS x WHERE NEW.deleted_at IS NULL ON CONFLICT (township_id, village_id, started, since, ended) DO"
            " UPDATE SET n = enterprises_villageperiodday.n + excluded.n; END"
        ),
        "DROP TRIGGER IF EXISTS siwu_villages_delete",
        (
            "CREATE TRIGGER siwu_villages_delete AFTER DELETE ON enterprises_enterprise BEGIN UPDATE "
            "enterprises_villageday SET n = n - 1 WHERE OLD.deleted_at IS NULL AND township_id = OLD.township_id "
            "AND village_id = COALESCE(OLD.village_id, 0) AND day = OLD.identified_on; END"
        ),
        "DROP TRIGGER IF EXISTS siwu_village_periods_insert",
        (
            "CREATE TRIGGER siwu_village_periods_insert AFTER INSERT ON enterprises_rectification BEGIN INSERT "
            "INTO enterprises_villageperiodday (township_id, village_id, started, since, ended, n) SELECT "
            "e.township_id, COALESCE(e.village_id, 0), NEW.rectified_on, MAX(NEW.rectified_on, e.identified_on), "
            "COALESCE(NEW.reopened_on, '9999-12-31'), 1 FROM enterprises_enterprise e WHERE e.id = "
            "NEW.enterprise_id AND e.deleted_at IS NULL AND NEW.deleted_at IS NULL ON CONFLICT (township_id, "
            "village_id, started, since, ended) DO UPDATE SET n = enterprises_villageperiodday.n + excluded.n; "
            "END"
        ),
        "DROP TRIGGER IF EXISTS siwu_village_periods_update",
        (
            "CREATE TRIGGER siwu_village_periods_update AFTER UPDATE ON enterprises_rectification WHEN "
            "(OLD.deleted_at IS NOT NEW.deleted_at OR OLD.rectified_on <> NEW.rectified_on OR OLD.reopened_on IS "
            "NOT NEW.reopened_on OR OLD.enterprise_id <> NEW.enterprise_id) BEGIN UPDATE "
            "enterprises_villageperiodday SET n = n - 1 WHERE OLD.deleted_at IS NULL AND (township_id, "
            "village_id, since) = (SELECT e.township_id, COALESCE(e.village_id, 0), MAX(OLD.rectified_on, "
            "e.identified_on) FROM enterprises_enterprise e WHERE e.id = OLD.enterprise_id AND e.deleted_at IS "
            "NULL) AND started = OLD.rectified_on AND ended = COALESCE(OLD.reopened_on, '9999-12-31'); INSERT "
            "INTO enterprises_villageperiodday (township_id, village_id, started, since, ended, n) SELECT "
            "e.township_id, COALESCE(e.village_id, 0), NEW.rectified_on, MAX(NEW.rectified_on, e.identified_on), "
            "COALESCE(NEW.reopened_on, '9999-12-31'), 1 FROM enterprises_enterprise e WHERE e.id = "
            "NEW.enterprise_id AND e.deleted_at IS NULL AND NEW.deleted_at IS NULL ON CONFLICT (township_id, "
            "village_id, started, since, ended) DO UPDATE SET n = enterprises_villageperiodday.n + excluded.n; "
            "END"
        ),
        "DROP TRIGGER IF EXISTS siwu_village_periods_delete",
        (
            "CREATE TRIGGER siwu_village_periods_delete AFTER DELETE ON enterprises_rectification BEGIN UPDATE "
            "enterprises_villageperiodday SET n = n - 1 WHERE OLD.deleted_at IS NULL AND (township_id, "
            "village_id, since) = (SELECT e.township_id, COALESCE(e.village_id, 0), MAX(OLD.rectified_on, "
            "e.identified_on) FROM enterprises_enterprise e WHERE e.id = OLD.enterprise_id AND e.deleted_at IS "
            "NULL) AND started = OLD.rectified_on AND ended = COALESCE(OLD.reopened_on, '9999-12-31'); END"
        ),
        "DELETE FROM enterprises_villageday",
        (
            "INSERT INTO enterprises_villageday (township_id, village_id, day, n) SELECT township_id, "
            "COALESCE(village_id, 0), identified_on, COUNT(*) FROM enterprises_enterprise WHERE deleted_at IS "
            "NULL GROUP BY 1, 2, 3"
        ),
        "DELETE FROM enterprises_villageperiodday",
        (
            "INSERT INTO enterprises_villageperiodday (township_id, village_id, started, since, ended, n) SELECT "
            "e.township_id, COALESCE(e.village_id, 0), r.rectified_on, MAX(r.rectified_on, e.identified_on), "
            "COALESCE(r.reopened_on, '9999-12-31'), COUNT(*) FROM enterprises_rectification r JOIN "
            "enterprises_enterprise e ON e.id = r.enterprise_id WHERE r.deleted_at IS NULL AND e.deleted_at IS "
            "NULL GROUP BY 1, 2, 3, 4, 5"
        ),
    ),
}

REVERSE = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS siwu_villages_insert ON enterprises_enterprise",
        "DROP TRIGGER IF EXISTS siwu_villages_update ON enterprises_enterprise",
        "DROP TRIGGER IF EXISTS siwu_villages_delete ON enterprises_enterprise",
        "DROP TRIGGER IF EXISTS siwu_village_periods_insert ON enterprises_rectification",
        "DROP TRIGGER IF EXISTS siwu_village_periods_update ON enterprises_rectification",
        "DROP TRIGGER IF EXISTS siwu_village_periods_delete ON enterprises_rectification",
        "DROP FUNCTION IF EXISTS siwu_village_days(), siwu_village_periods()",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS siwu_villages_insert",
        "DROP TRIGGER IF EXISTS siwu_villages_update",
        "DROP TRIGGER IF EXISTS siwu_villages_delete",
        "DROP TRIGGER IF EXISTS siwu_village_periods_insert",
        "DROP TRIGGER IF EXISTS siwu_village_periods_update",
        "DROP TRIGGER IF EXISTS siwu_village_periods_delete",
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
        ("enterprises", "0009_unit_search"),
    ]

    operations = [
        migrations.CreateModel(
            name="VillageDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("village_id", models.BigIntegerField()),
                ("day", models.DateField()),
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
                "constraints": [
                    models.UniqueConstraint(fields=("township", "village_id", "day"), name="enterprises_villageday_key")
                ],
            },
        ),
        migrations.CreateModel(
            name="VillagePeriodDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("village_id", models.BigIntegerField()),
                ("started", models.DateField()),
                ("since", models.DateField()),
                ("ended", models.DateField()),
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
                "constraints": [
                    models.UniqueConstraint(
                        fields=("township", "village_id", "started", "since", "ended"),
                        name="enterprises_villageperiodday_key",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
