"""The version triggers on the per-village count tables (enterprises 0010): every change of a
township's village counts gives it a new CountsVersion, as a change of its other counts does.

Literal SQL per database vendor, exactly what this migration ran when it was written (the
declaration is reports/counts/versions.py; docs/counting.md, "The counts unit"). The function
siwu_counts_version() on PostgreSQL is the one reports 0002 installed.
"""

from django.db import migrations

FORWARD = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS siwu_version_insert ON enterprises_villageday",
        (
            "CREATE TRIGGER siwu_version_insert AFTER INSERT ON enterprises_villageday REFERENCING NEW TABLE AS "
            "new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
        ),
        "DROP TRIGGER IF EXISTS siwu_version_update ON enterprises_villageday",
        (
            "CREATE TRIGGER siwu_version_update AFTER UPDATE ON enterprises_villageday REFERENCING OLD TABLE AS "
            "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
        ),
        "DROP TRIGGER IF EXISTS siwu_version_delete ON enterprises_villageday",
        (
            "CREATE TRIGGER siwu_version_delete AFTER DELETE ON enterprises_villageday REFERENCING OLD TABLE AS "
            "old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
        ),
        "DROP TRIGGER IF EXISTS siwu_version_insert ON enterprises_villageperiodday",
        (
            "CREATE TRIGGER siwu_version_insert AFTER INSERT ON enterprises_villageperiodday REFERENCING NEW "
            "TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
        ),
        "DROP TRIGGER IF EXISTS siwu_version_update ON enterprises_villageperiodday",
        (
            "CREATE TRIGGER siwu_version_update AFTER UPDATE ON enterprises_villageperiodday REFERENCING OLD "
            "TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
        ),
        "DROP TRIGGER IF EXISTS siwu_version_delete ON enterprises_villageperiodday",
        (
            "CREATE TRIGGER siwu_version_delete AFTER DELETE ON enterprises_villageperiodday REFERENCING OLD "
            "TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()"
        ),
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS enterprises_villageday_version_insert",
        (
            "CREATE TRIGGER enterprises_villageday_version_insert AFTER INSERT ON enterprises_villageday FOR EACH"
            " ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES (NEW.township_id, "
            "random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; END"
        ),
        "DROP TRIGGER IF EXISTS enterprises_villageday_version_update",
        (
            "CREATE TRIGGER enterprises_villageday_version_update AFTER UPDATE ON enterprises_villageday FOR EACH"
            " ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES (OLD.township_id, "
            "random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; INSERT INTO "
            "reports_countsversion (township_id, version) VALUES (NEW.township_id, random()) ON CONFLICT "
            "(township_id) DO UPDATE SET version = excluded.version; END"
        ),
        "DROP TRIGGER IF EXISTS enterprises_villageday_version_delete",
        (
            "CREATE TRIGGER enterprises_villageday_version_delete AFTER DELETE ON enterprises_villageday FOR EACH"
            " ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES (OLD.township_id, "
            "random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; END"
        ),
        "DROP TRIGGER IF EXISTS enterprises_villageperiodday_version_insert",
        (
            "CREATE TRIGGER enterprises_villageperiodday_version_insert AFTER INSERT ON "
            "enterprises_villageperiodday FOR EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, "
            "version) VALUES (NEW.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = "
            "excluded.version; END"
        ),
        "DROP TRIGGER IF EXISTS enterprises_villageperiodday_version_update",
        (
            "CREATE TRIGGER enterprises_villageperiodday_version_update AFTER UPDATE ON "
            "enterprises_villageperiodday FOR EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, "
            "version) VALUES (OLD.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = "
            "excluded.version; INSERT INTO reports_countsversion (township_id, version) VALUES (NEW.township_id, "
            "random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; END"
        ),
        "DROP TRIGGER IF EXISTS enterprises_villageperiodday_version_delete",
        (
            "CREATE TRIGGER enterprises_villageperiodday_version_delete AFTER DELETE ON "
            "enterprises_villageperiodday FOR EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, "
            "version) VALUES (OLD.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = "
            "excluded.version; END"
        ),
    ),
}

REVERSE = {
    "postgresql": (
        "DROP TRIGGER IF EXISTS siwu_version_insert ON enterprises_villageday",
        "DROP TRIGGER IF EXISTS siwu_version_update ON enterprises_villageday",
        "DROP TRIGGER IF EXISTS siwu_version_delete ON enterprises_villageday",
        "DROP TRIGGER IF EXISTS siwu_version_insert ON enterprises_villageperiodday",
        "DROP TRIGGER IF EXISTS siwu_version_update ON enterprises_villageperiodday",
        "DROP TRIGGER IF EXISTS siwu_version_delete ON enterprises_villageperiodday",
    ),
    "sqlite": (
        "DROP TRIGGER IF EXISTS enterprises_villageday_version_insert",
        "DROP TRIGGER IF EXISTS enterprises_villageday_version_update",
        "DROP TRIGGER IF EXISTS enterprises_villageday_version_delete",
        "DROP TRIGGER IF EXISTS enterprises_villageperiodday_version_insert",
        "DROP TRIGGER IF EXISTS enterprises_villageperiodday_version_update",
        "DROP TRIGGER IF EXISTS enterprises_villageperiodday_version_delete",
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
        ("enterprises", "0010_village_counts"),
        ("reports", "0003_notice_number_date_letterhead"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
