"""Writing a plan, the steps of ``apply``: the matched units checked unchanged since the parse,
then the new villages, the new units, the changed units and the rectifications written in bulk
(``bulk``), each with its history rows. ``still_current`` tells whether a plan is still what
parsing its file now would give.
"""

from decimal import Decimal
from typing import Any

from django.db import connection, models
from django.utils.translation import gettext as _

from campaign.models import Park, Township, Village

from ..models import DEFECT_FIELDS, Enterprise, ParkEntry, Rectification, Relapse, Source, Status
from ..services import company_form_of
from .bulk import Stamp, _insert_columns, insert_rows, record_history, update_rows
from .columns import MAP_FIELDS, POSITION_FIELDS, TEXT_FIELDS
from .plan import Action, PlanError, PlannedRow, UnitPlan
from .queries import _among, _chunks


def _townships(plan: UnitPlan) -> set[int]:
    return {row.values["township"].id for row in plan.rows if row.valid}


def _rows(plan: UnitPlan, action: Action) -> list[PlannedRow]:
    return [row for row in plan.rows if row.valid and row.action == action]


def _check_unchanged_since(plan: UnitPlan) -> None:
    versions = {row.unit_id: row.unit.version for row in _rows(plan, Action.UPDATE)}
    for units in _among(Enterprise.objects.all(), "id", versions):
        now = units.values_list("id", "version", "updated_at", "deleted_at")
        if any(
            version != versions[pk] or updated_at > plan.parsed_at or deleted_at is not None
            for pk, version, updated_at, deleted_at in now
        ):
            raise PlanError(_("预览之后系统中的单位已被修改，未写入任何数据：请重新上传文件"))


def _create_villages(plan: UnitPlan, stamp: Stamp) -> dict[tuple[int, str], int]:
    created = Village.objects.bulk_create(
        Village(township=township, name=name, kind=Village.kind_from_name(name)) for township, name in plan.new_villages
    )
    record_history(Village, [village.pk for village in created], "+", stamp)
    township_ids = {row.values["township"].id for row in plan.rows if row.valid and "village" in row.values}
    villages = {}
    for chunk in _chunks(township_ids):
        found = Village.objects.filter(township_id__in=chunk).values_list("id", "township_id", "name")
        villages.update(((township_id, name), pk) for pk, township_id, name in found)
    return villages


def _village_id(row: PlannedRow, villages: dict[tuple[int, str], int]) -> int | None:
    if "village" not in row.values:
        return None
    return villages[(row.values["township"].id, row.values["village"])]


_NEW_UNIT_FIELDS = (
    "name",
    "credit_code",
    "township_id",
    "village_id",
    "address",
    "phone",
    *TEXT_FIELDS,
    *DEFECT_FIELDS,
    "identified_on",
    "source",
    "status",
    "created_by_id",
    "created_at",
    "updated_at",
    # The current rectification, written with the unit when the row brings one: the trigger that
    # keeps them (migration enterprises 0014) then finds them right and rewrites no unit.
    "current_method",
    "current_rectified_on",
)


def _create_units(plan: UnitPlan, villages: dict, stamp: Stamp) -> None:
    rows = _rows(plan, Action.CREATE)
    values = [row.values for row in rows]

    def column(key: str, default: Any = "") -> list:
        return [cells.get(key, default) for cells in values]

    township_ids = [cells["township"].id for cells in values]
    village_ids = [
        None if name is None else villages[(township_id, name)]
        for township_id, name in zip(township_ids, column("village", None), strict=True)
    ]
    count = len(rows)
    # A unit's position and 盯梢人 are written only by a list that has them: a list without them
    # inserts what it did before (as many rows to a statement, within SQLite's parameter limit).
    optional = tuple(key for key in MAP_FIELDS if any(key in cells for cells in values))
    ids = _insert_columns(
        Enterprise,
        _NEW_UNIT_FIELDS + optional,
        [
            [cells["name"] for cells in values],
            column("credit_code"),
            township_ids,
            village_ids,
            column("address"),
            column("phone"),
            *(column(key) for key in TEXT_FIELDS),
            *(column(key, False) for key in DEFECT_FIELDS),
            [cells["identified_on"] for cells in values],
            column("source", Source.SCREENING),
            column("status", Status.OPEN),
            [stamp.user_id] * count,
            [stamp.when] * count,
            [stamp.when] * count,
            [row.values["method"] if row.rectification == "create" else None for row in rows],
            [row.values["rectified_on"] if row.rectification == "create" else None for row in rows],
            *(column(key, None if key in POSITION_FIELDS else "") for key in optional),
        ],
    )
    for row, unit_id in zip(rows, ids, strict=True):
        row.unit_id = unit_id
    record_history(Enterprise, ids, "+", stamp)


def _update_units(plan: UnitPlan, villages: dict, stamp: Stamp) -> None:
    changes = []
    for row in _rows(plan, Action.UPDATE):
        if row.changes.keys() == {"park"}:
            continue  # the unit is as it was: only its park entry is new (_write_park_entries)
        values = dict(_new_value(row, name, villages) for name in row.changes.keys() - {"rectification", "park"})
        if row.rectification == "create":  # its current rectification with its status, as for a new unit
            values |= {"current_method": row.values["method"], "current_rectified_on": row.values["rectified_on"]}
        changes.append((row.unit_id, values | {"updated_at": stamp.when}))
    # A unit's version moves with every change (Enterprise.version, optimistic concurrency), so an
    # edit that read the unit before the import can tell that it changed since.
    update_rows(Enterprise, changes, increment="version")
    record_history(Enterprise, [unit_id for unit_id, _values in changes], "~", stamp)


def _new_value(row: PlannedRow, name: str, villages: dict) -> tuple[str, Any]:
    if name == "township":
        return "township_id", row.values["township"].id
    if name == "village":
        return "village_id", _village_id(row, villages)
    return name, row.changes[name][1]


def _write_rectifications(plan: UnitPlan, stamp: Stamp) -> None:
    rows = [row for row in plan.rows if row.valid]
    fields = ("enterprise_id", "method", "rectified_on", "demolished_m2", "note", "created_by_id", "created_at")
    created = [
        (row.unit_id, row.values["method"], row.values["rectified_on"], _area(row), "", stamp.user_id, stamp.when)
        for row in rows
        if row.rectification == "create"
    ]
    record_history(Rectification, insert_rows(Rectification, fields, created), "+", stamp)
    corrected = [
        (row.period.id, dict(zip(("method", "rectified_on", "demolished_m2"), row.changes["rectification"][1])))
        for row in rows
        if row.rectification == "update"
    ]
    update_rows(Rectification, corrected)
    record_history(Rectification, [period_id for period_id, _values in corrected], "~", stamp)


def _write_park_entries(plan: UnitPlan, stamp: Stamp) -> None:
    """SPEC 5: the entry of each unit rectified by 搬迁入园 into the park its row names, on the
    rectification's date, recorded with that rectification (once: ``rows.diff_park`` plans only
    entries that are new or whose park or date the row corrects)."""
    rows = [row for row in plan.rows if row.valid and "park" in row.changes]
    if not rows:
        return
    periods = {}
    alive = Rectification.objects.filter(deleted_at__isnull=True)
    for matching in _among(alive, "enterprise_id", {row.unit_id for row in rows}):
        periods.update(
            ((unit, day), pk) for pk, unit, day in matching.values_list("id", "enterprise_id", "rectified_on")
        )
    period_ids = [periods[(row.unit_id, row.values["rectified_on"])] for row in rows]
    existing = {}
    for matching in _among(ParkEntry.objects.all(), "rectification_id", set(period_ids)):
        existing.update(matching.values_list("rectification_id", "id"))
    created, corrected = [], []
    for row, period_id in zip(rows, period_ids, strict=True):
        park_id, day = row.values["park"].id, row.values["rectified_on"]
        if period_id in existing:
            corrected.append((existing[period_id], {"park_id": park_id, "entered_on": day}))
            continue
        unit = row.unit
        code = row.values.get("credit_code", unit.credit_code if unit else "")
        industry = row.values.get("industry", unit.industry if unit else "")
        created.append(
            (park_id, row.unit_id, period_id, row.values["name"], code, industry, day, company_form_of(code))
            + (stamp.user_id, stamp.when)
        )
    fields = (
        "park_id",
        "enterprise_id",
        "rectification_id",
        "name",
        "credit_code",
        "industry",
        "entered_on",
        "company_form",
        "created_by_id",
        "created_at",
    )
    record_history(ParkEntry, insert_rows(ParkEntry, fields, created), "+", stamp)
    update_rows(ParkEntry, corrected)
    record_history(ParkEntry, [entry_id for entry_id, _values in corrected], "~", stamp)


def _area(row: PlannedRow) -> Decimal:
    return row.values.get("demolished_m2") or Decimal("0.00")


# Every write a plan depends on leaves a history row (django-simple-history) with its time: the
# units and their rectifications and relapses, the villages and townships names are matched to.
_PLAN_INPUTS = (Township, Village, Enterprise, Rectification, Relapse, Park, ParkEntry)


def still_current(plan: UnitPlan) -> bool:
    """True when no unit, rectification, relapse, village, township, park or park entry changed since
    ``plan`` was parsed.

    Then the plan is exactly what parsing the file now would give. One query, an indexed probe per
    table (history_date); ``apply`` asks again inside its lock, and checks the matched units'
    versions there too. A plan read while a write to its townships was in flight (``settled``
    False) is never current: that write's rows are dated before the parse.
    """
    if not getattr(plan, "settled", False):
        return False
    quote = connection.ops.quote_name
    probes = []
    for model in _PLAN_INPUTS:
        history = model.history.model
        column = quote(history._meta.get_field("history_date").column)
        probes.append(f"EXISTS (SELECT 1 FROM {quote(history._meta.db_table)} WHERE {column} >= %s)")  # nosec B608  # identifiers quoted from _meta; values are parameters
    when = models.DateTimeField().get_db_prep_value(plan.parsed_at, connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {' OR '.join(probes)}", [when] * len(probes))
        (changed,) = cursor.fetchone()
    return not changed
