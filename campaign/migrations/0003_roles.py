"""The four roles of SPEC section 4 as auth groups, so that a fresh database has them.

The names are core.access.Role values, copied here: a migration must not change when the code
it was written against does.
"""

from django.db import migrations

ROLES = ("city_admin", "city_viewer", "inspector", "township_staff")


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("campaign", "0002_historicalcampaign_historicalmilestone_and_more"),
    ]

    # Reversing leaves the groups: users may belong to them by then.
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
