"""One unit, one row: units without a credit code are unique by township, name and address.

SPEC section 3 makes a unit without a credit code the same unit as any other of the same township,
name and address (after trimming spaces). Until now only the code was a database guarantee, and
two confirmations of one screening list at once could register every unit of it twice.

Duplicates already in the database are not resolved here. Which of two rows is the real unit (each
may carry its own rectifications, relapses and findings) is for a person to decide, and nothing is
deleted or rewritten behind the users' backs. So the migration first looks for them, by the same
rule the import matches with (spaces trimmed and folded, deleted units left out): if there are any,
it stops with the list (township, name, address, unit ids) and changes nothing. Delete the extra
units in the register (a soft delete with a reason, which a city admin can undo), or give them
their credit codes or their correct addresses, then run ``migrate`` again.
"""

import re
from collections import defaultdict

from django.core.management.base import CommandError
from django.db import migrations, models
from django.utils.translation import gettext as _

SHOWN_GROUPS = 50
_SPACES = re.compile(r"[\s\u3000]+")  # enterprises.models.squash_spaces, as of this migration


def _squash(value):
    return _SPACES.sub(" ", str(value or "")).strip()


def duplicate_groups(enterprise_model, township_model):
    """[(township name, name, address, [ids])] of alive units without a credit code that share a
    township, name and address after trimming spaces; read a township at a time."""
    groups = []
    townships = township_model.objects.order_by("pk").values_list("pk", "name")
    for township_id, township_name in townships.iterator():
        units = enterprise_model.objects.filter(township_id=township_id, credit_code="", deleted_at__isnull=True)
        same = defaultdict(list)
        for pk, name, address in units.order_by("pk").values_list("pk", "name", "address").iterator(chunk_size=5000):
            same[(_squash(name), _squash(address))].append(pk)
        groups += [(township_name, name, address, ids) for (name, address), ids in same.items() if len(ids) > 1]
    return groups


def duplicates_message(groups):
    lines = [
        _(
            "系统中有%(n)d组未填统一社会信用代码、且乡镇（街道）、单位名称、地址都相同的单位，"
            "无法建立“同一单位只登记一次”的约束；本次迁移未作任何更改。"
        )
        % {"n": len(groups)},
        _(
            "请逐组核对：在台账中删除多登记的单位（写明原因，市级管理员可恢复），"
            "或为其补填统一社会信用代码、改正地址，然后重新运行 migrate。"
        ),
    ]
    for township, name, address, ids in groups[:SHOWN_GROUPS]:
        lines.append(
            _("%(township)s，单位名称“%(name)s”，地址“%(address)s”：单位编号 %(ids)s")
            % {"township": township, "name": name, "address": address, "ids": "、".join(map(str, ids))}
        )
    if len(groups) > SHOWN_GROUPS:
        lines.append(_("……另有%(n)d组未列出") % {"n": len(groups) - SHOWN_GROUPS})
    return "\n".join(lines)


def refuse_duplicates(apps, schema_editor):
    groups = duplicate_groups(apps.get_model("enterprises", "Enterprise"), apps.get_model("campaign", "Township"))
    if groups:
        raise CommandError(duplicates_message(groups))


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0003_roles"),
        ("enterprises", "0007_register_keyset_and_unit_status"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="enterprise",
            constraint=models.UniqueConstraint(
                condition=models.Q(("credit_code", ""), ("deleted_at__isnull", True)),
                fields=("township", "name", "address"),
                name="enterprises_enterprise_unique_identity",
            ),
        ),
    ]
