"""The version triggers on the scorecard's sources (reports/scorecard.py): every change of a
township's indicator records, parks, freed land or 零四无 demonstrations, and of the entries into
its parks, gives it a new CountsVersion, so the indicator values kept per process are read again.

Literal SQL per database vendor, exactly what this migration ran when it was written (the
declaration is reports/counts/versions.py; docs/counting.md, "The counts unit"). The function
siwu_counts_version() on PostgreSQL is the one reports 0002 installed; siwu_park_entry_version()
is new: an entry has no township of its own, its park's is bumped.
"""

from django.db import migrations

FORWARD = {'postgresql': ('\n'
                'CREATE OR REPLACE FUNCTION siwu_park_entry_version() RETURNS trigger LANGUAGE plpgsql AS '
                '$$\n'
                'BEGIN\n'
                "  IF TG_OP = 'INSERT' THEN\n"
                '    INSERT INTO reports_countsversion (township_id, version) SELECT t, '
                "nextval('siwu_counts_version_seq') FROM (SELECT DISTINCT p.township_id AS t FROM new_rows e "
                'JOIN campaign_park p ON p.id = e.park_id ORDER BY 1) s ON CONFLICT (township_id) DO UPDATE '
                'SET version = excluded.version;\n'
                "  ELSIF TG_OP = 'DELETE' THEN\n"
                '    INSERT INTO reports_countsversion (township_id, version) SELECT t, '
                "nextval('siwu_counts_version_seq') FROM (SELECT DISTINCT p.township_id AS t FROM old_rows e "
                'JOIN campaign_park p ON p.id = e.park_id ORDER BY 1) s ON CONFLICT (township_id) DO UPDATE '
                'SET version = excluded.version;\n'
                '  ELSE\n'
                '    INSERT INTO reports_countsversion (township_id, version) SELECT t, '
                "nextval('siwu_counts_version_seq') FROM (SELECT DISTINCT p.township_id AS t FROM new_rows e "
                'JOIN campaign_park p ON p.id = e.park_id UNION SELECT DISTINCT p.township_id AS t FROM '
                'old_rows e JOIN campaign_park p ON p.id = e.park_id ORDER BY 1) s ON CONFLICT (township_id) '
                'DO UPDATE SET version = excluded.version;\n'
                '  END IF;\n'
                '  RETURN NULL;\n'
                'END $$;\n',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON campaign_indicatorrecord',
                'CREATE TRIGGER siwu_version_insert AFTER INSERT ON campaign_indicatorrecord REFERENCING NEW '
                'TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_update ON campaign_indicatorrecord',
                'CREATE TRIGGER siwu_version_update AFTER UPDATE ON campaign_indicatorrecord REFERENCING OLD '
                'TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION '
                'siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON campaign_indicatorrecord',
                'CREATE TRIGGER siwu_version_delete AFTER DELETE ON campaign_indicatorrecord REFERENCING OLD '
                'TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON campaign_park',
                'CREATE TRIGGER siwu_version_insert AFTER INSERT ON campaign_park REFERENCING NEW TABLE AS '
                'new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_update ON campaign_park',
                'CREATE TRIGGER siwu_version_update AFTER UPDATE ON campaign_park REFERENCING OLD TABLE AS '
                'old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON campaign_park',
                'CREATE TRIGGER siwu_version_delete AFTER DELETE ON campaign_park REFERENCING OLD TABLE AS '
                'old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON enterprises_landparcel',
                'CREATE TRIGGER siwu_version_insert AFTER INSERT ON enterprises_landparcel REFERENCING NEW '
                'TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_update ON enterprises_landparcel',
                'CREATE TRIGGER siwu_version_update AFTER UPDATE ON enterprises_landparcel REFERENCING OLD '
                'TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION '
                'siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON enterprises_landparcel',
                'CREATE TRIGGER siwu_version_delete AFTER DELETE ON enterprises_landparcel REFERENCING OLD '
                'TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON campaign_demonstration',
                'CREATE TRIGGER siwu_version_insert AFTER INSERT ON campaign_demonstration REFERENCING NEW '
                'TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_update ON campaign_demonstration',
                'CREATE TRIGGER siwu_version_update AFTER UPDATE ON campaign_demonstration REFERENCING OLD '
                'TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION '
                'siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON campaign_demonstration',
                'CREATE TRIGGER siwu_version_delete AFTER DELETE ON campaign_demonstration REFERENCING OLD '
                'TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_counts_version()',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON enterprises_parkentry',
                'CREATE TRIGGER siwu_version_insert AFTER INSERT ON enterprises_parkentry REFERENCING NEW '
                'TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_park_entry_version()',
                'DROP TRIGGER IF EXISTS siwu_version_update ON enterprises_parkentry',
                'CREATE TRIGGER siwu_version_update AFTER UPDATE ON enterprises_parkentry REFERENCING OLD '
                'TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION '
                'siwu_park_entry_version()',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON enterprises_parkentry',
                'CREATE TRIGGER siwu_version_delete AFTER DELETE ON enterprises_parkentry REFERENCING OLD '
                'TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION siwu_park_entry_version()'),
 'sqlite': ('DROP TRIGGER IF EXISTS campaign_indicatorrecord_version_insert',
            'CREATE TRIGGER campaign_indicatorrecord_version_insert AFTER INSERT ON campaign_indicatorrecord '
            'FOR EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(NEW.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'END',
            'DROP TRIGGER IF EXISTS campaign_indicatorrecord_version_update',
            'CREATE TRIGGER campaign_indicatorrecord_version_update AFTER UPDATE ON campaign_indicatorrecord '
            'FOR EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(OLD.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'INSERT INTO reports_countsversion (township_id, version) VALUES (NEW.township_id, random()) ON '
            'CONFLICT (township_id) DO UPDATE SET version = excluded.version; END',
            'DROP TRIGGER IF EXISTS campaign_indicatorrecord_version_delete',
            'CREATE TRIGGER campaign_indicatorrecord_version_delete AFTER DELETE ON campaign_indicatorrecord '
            'FOR EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(OLD.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'END',
            'DROP TRIGGER IF EXISTS campaign_park_version_insert',
            'CREATE TRIGGER campaign_park_version_insert AFTER INSERT ON campaign_park FOR EACH ROW BEGIN '
            'INSERT INTO reports_countsversion (township_id, version) VALUES (NEW.township_id, random()) ON '
            'CONFLICT (township_id) DO UPDATE SET version = excluded.version; END',
            'DROP TRIGGER IF EXISTS campaign_park_version_update',
            'CREATE TRIGGER campaign_park_version_update AFTER UPDATE ON campaign_park FOR EACH ROW BEGIN '
            'INSERT INTO reports_countsversion (township_id, version) VALUES (OLD.township_id, random()) ON '
            'CONFLICT (township_id) DO UPDATE SET version = excluded.version; INSERT INTO '
            'reports_countsversion (township_id, version) VALUES (NEW.township_id, random()) ON CONFLICT '
            '(township_id) DO UPDATE SET version = excluded.version; END',
            'DROP TRIGGER IF EXISTS campaign_park_version_delete',
            'CREATE TRIGGER campaign_park_version_delete AFTER DELETE ON campaign_park FOR EACH ROW BEGIN '
            'INSERT INTO reports_countsversion (township_id, version) VALUES (OLD.township_id, random()) ON '
            'CONFLICT (township_id) DO UPDATE SET version = excluded.version; END',
            'DROP TRIGGER IF EXISTS enterprises_landparcel_version_insert',
            'CREATE TRIGGER enterprises_landparcel_version_insert AFTER INSERT ON enterprises_landparcel FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(NEW.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'END',
            'DROP TRIGGER IF EXISTS enterprises_landparcel_version_update',
            'CREATE TRIGGER enterprises_landparcel_version_update AFTER UPDATE ON enterprises_landparcel FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(OLD.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'INSERT INTO reports_countsversion (township_id, version) VALUES (NEW.township_id, random()) ON '
            'CONFLICT (township_id) DO UPDATE SET version = excluded.version; END',
            'DROP TRIGGER IF EXISTS enterprises_landparcel_version_delete',
            'CREATE TRIGGER enterprises_landparcel_version_delete AFTER DELETE ON enterprises_landparcel FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(OLD.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'END',
            'DROP TRIGGER IF EXISTS campaign_demonstration_version_insert',
            'CREATE TRIGGER campaign_demonstration_version_insert AFTER INSERT ON campaign_demonstration FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(NEW.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'END',
            'DROP TRIGGER IF EXISTS campaign_demonstration_version_update',
            'CREATE TRIGGER campaign_demonstration_version_update AFTER UPDATE ON campaign_demonstration FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(OLD.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'INSERT INTO reports_countsversion (township_id, version) VALUES (NEW.township_id, random()) ON '
            'CONFLICT (township_id) DO UPDATE SET version = excluded.version; END',
            'DROP TRIGGER IF EXISTS campaign_demonstration_version_delete',
            'CREATE TRIGGER campaign_demonstration_version_delete AFTER DELETE ON campaign_demonstration FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) VALUES '
            '(OLD.township_id, random()) ON CONFLICT (township_id) DO UPDATE SET version = excluded.version; '
            'END',
            'DROP TRIGGER IF EXISTS enterprises_parkentry_version_insert',
            'CREATE TRIGGER enterprises_parkentry_version_insert AFTER INSERT ON enterprises_parkentry FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) SELECT township_id, '
            'random() FROM campaign_park WHERE id = NEW.park_id ON CONFLICT (township_id) DO UPDATE SET '
            'version = excluded.version; END',
            'DROP TRIGGER IF EXISTS enterprises_parkentry_version_update',
            'CREATE TRIGGER enterprises_parkentry_version_update AFTER UPDATE ON enterprises_parkentry FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) SELECT township_id, '
            'random() FROM campaign_park WHERE id = OLD.park_id ON CONFLICT (township_id) DO UPDATE SET '
            'version = excluded.version; INSERT INTO reports_countsversion (township_id, version) SELECT '
            'township_id, random() FROM campaign_park WHERE id = NEW.park_id ON CONFLICT (township_id) DO '
            'UPDATE SET version = excluded.version; END',
            'DROP TRIGGER IF EXISTS enterprises_parkentry_version_delete',
            'CREATE TRIGGER enterprises_parkentry_version_delete AFTER DELETE ON enterprises_parkentry FOR '
            'EACH ROW BEGIN INSERT INTO reports_countsversion (township_id, version) SELECT township_id, '
            'random() FROM campaign_park WHERE id = OLD.park_id ON CONFLICT (township_id) DO UPDATE SET '
            'version = excluded.version; END')}

REVERSE = {'postgresql': ('DROP TRIGGER IF EXISTS siwu_version_insert ON campaign_indicatorrecord',
                'DROP TRIGGER IF EXISTS siwu_version_update ON campaign_indicatorrecord',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON campaign_indicatorrecord',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON campaign_park',
                'DROP TRIGGER IF EXISTS siwu_version_update ON campaign_park',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON campaign_park',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON enterprises_landparcel',
                'DROP TRIGGER IF EXISTS siwu_version_update ON enterprises_landparcel',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON enterprises_landparcel',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON campaign_demonstration',
                'DROP TRIGGER IF EXISTS siwu_version_update ON campaign_demonstration',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON campaign_demonstration',
                'DROP TRIGGER IF EXISTS siwu_version_insert ON enterprises_parkentry',
                'DROP TRIGGER IF EXISTS siwu_version_update ON enterprises_parkentry',
                'DROP TRIGGER IF EXISTS siwu_version_delete ON enterprises_parkentry',
                'DROP FUNCTION IF EXISTS siwu_park_entry_version()'),
 'sqlite': ('DROP TRIGGER IF EXISTS campaign_indicatorrecord_version_insert',
            'DROP TRIGGER IF EXISTS campaign_indicatorrecord_version_update',
            'DROP TRIGGER IF EXISTS campaign_indicatorrecord_version_delete',
            'DROP TRIGGER IF EXISTS campaign_park_version_insert',
            'DROP TRIGGER IF EXISTS campaign_park_version_update',
            'DROP TRIGGER IF EXISTS campaign_park_version_delete',
            'DROP TRIGGER IF EXISTS enterprises_landparcel_version_insert',
            'DROP TRIGGER IF EXISTS enterprises_landparcel_version_update',
            'DROP TRIGGER IF EXISTS enterprises_landparcel_version_delete',
            'DROP TRIGGER IF EXISTS campaign_demonstration_version_insert',
            'DROP TRIGGER IF EXISTS campaign_demonstration_version_update',
            'DROP TRIGGER IF EXISTS campaign_demonstration_version_delete',
            'DROP TRIGGER IF EXISTS enterprises_parkentry_version_insert',
            'DROP TRIGGER IF EXISTS enterprises_parkentry_version_update',
            'DROP TRIGGER IF EXISTS enterprises_parkentry_version_delete')}

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
        ("campaign", "0004_indicators_parks_demonstrations"),
        ("enterprises", "0012_park_entries_land"),
        ("reports", "0004_village_count_versions"),
    ]

    operations = [
        migrations.RunPython(install, uninstall),
    ]
