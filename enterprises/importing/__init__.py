"""Screening lists (排查清单): read a file into a plan, show it, then apply it all or nothing.

``parse`` reads and checks every row and matches it against the register without writing a thing:
the ``UnitPlan`` says, per row, whether the unit would be created, updated (and which fields
change) or left as it is, and lists every error and warning with its spreadsheet row and column.
``apply`` writes a plan that has no errors inside one transaction. The command line
(``import_units``) and the browser upload with its preview both go through these two calls.

Rules beyond SPEC section 3 that a person filling in a list would expect:

- a blank cell says nothing: on an existing unit it leaves that field as it is (it never erases);
  on a new unit the defaults apply (来源 排查, 整治状态 未整治). The four defect columns are the
  exception: blank is 否, on any unit, whenever the column is in the file;
- a column missing from the file leaves that field alone on existing units;
- a list never undoes a rectification: a rectified unit listed as 未整治 stays rectified, with a
  warning; a different 整治完成日期 or 整治方式 for the current rectification is a correction;
- the register is read in a handful of bulk queries (as plain values, not model instances) and
  written with multi-row inserts and bulk updates, each with its history record: a city list runs
  to tens of thousands of rows, and 50,000 must go through in a few seconds;
- between the browser's preview and its confirmation the checked plan is kept (``dump_plan``,
  signed); confirming applies it as it is when nothing it was checked against has changed since
  (``still_current``), and reads the file again otherwise;
- two imports of one list at once register its units once: ``apply`` takes the register lock of
  the plan's townships (``services.lock_townships``, which the unit form takes too) and only then
  asks whether the plan is still current; a plan that is not is read again from the file inside
  the lock (``reread``), where its units written meanwhile are matched, or refused. The database
  backs this with unique constraints on the identity (credit code; else township, name, address).

The modules, in the order a list goes through them:

- ``columns``: the columns of a list, their headers and the other names accepted for them;
- ``cells``: one cell read into its value, or the error saying why not;
- ``rows``: every row read, checked, matched against the register and planned (``parse`` runs it);
- ``plan``: the plan (``UnitPlan``, ``PlannedRow``, ``Action``), kept signed between preview and
  confirmation (``dump_plan``, ``load_plan``);
- ``write``: the steps of ``apply`` and the freshness check ``still_current``;
- ``bulk``: COPY / multi-row INSERT, bulk UPDATE and history rows (also used by demo/benchmark.py);
- ``queries``: the register read in as few queries as the database takes;
- ``template``: the empty list users download;
- ``batches``: the browser's ``ImportBatch`` from upload to confirmation (check and keep a file,
  confirm it, mark it failed, the same file applied before), for the views to call.

``parse`` and ``apply`` themselves live here and call their steps by this module's names, so that
replacing one of those here (``read_columns``, ``still_current``, ``_write_rectifications``, as the
tests do) replaces it for them too.
"""

import datetime
from collections.abc import Callable, Collection

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaign.models import Township
from core.tabular import Issue, TableError, read_columns

from ..models import DEFECT_FIELDS
from ..services import lock_townships
from .bulk import Stamp, insert_rows, record_history, update_rows
from .cells import CellError
from .cells import _valid_code as _valid_code  # for tests/enterprises/test_import_units.py
from .columns import COLUMNS, HEADERS
from .plan import (
    Action,
    Current,
    Period,
    PlanError,
    PlannedRow,
    UnitPlan,
    dump_plan,
    load_plan,
    without_cycle_collection,
)
from .rows import _BLANK as _BLANK  # for tests/enterprises/test_import_units.py
from .rows import _Planner
from .template import write_template
from .write import (
    _check_unchanged_since,
    _create_units,
    _create_villages,
    _townships,
    _update_units,
    _write_park_entries,
    _write_rectifications,
    still_current,
)

# What other code uses. Current, Period and PlannedRow too: a plan kept (pickled) before this module
# became a package names its classes enterprises.importing.<name>, and still loads.
__all__ = [
    "COLUMNS",
    "HEADERS",
    "Action",
    "CellError",
    "Current",
    "Period",
    "PlanError",
    "PlannedRow",
    "Stamp",
    "UnitPlan",
    "apply",
    "dump_plan",
    "insert_rows",
    "load_plan",
    "parse",
    "record_history",
    "update_rows",
    "still_current",
    "without_cycle_collection",
    "write_template",
]


def parse(
    source,
    *,
    file_name: str = "",
    campaign=None,
    allowed_townships: Collection[Township] | None = None,
    today: datetime.date | None = None,
) -> UnitPlan:
    """Read and check a screening list and match it to the register; writes nothing.

    ``source`` is a path, a binary file object or bytes. ``campaign`` (optional) adds warnings for
    dates after its end; ``allowed_townships`` (optional) limits the list to a township user's own.
    """
    plan = UnitPlan(file_name=file_name)
    with without_cycle_collection():
        try:
            table = read_columns(source, COLUMNS)
        except TableError as exc:
            plan.errors.extend(exc.issues)
            return plan
        if not any(table.has(key) for key in DEFECT_FIELDS):
            plan.errors.append(Issue(_("缺少四无情形列：“无证无照”“无安全保障”“无合法场所”“无环保措施”至少要有一列")))
            return plan
        _Planner(plan, campaign=campaign, allowed=allowed_townships, today=today or timezone.localdate()).run(table)
    return plan


def apply(plan: UnitPlan, user=None, *, reread: Callable[[], UnitPlan] | None = None) -> UnitPlan:
    """Write a plan without errors, all of it in one transaction; PlanError when it cannot.

    Every row written gets its history record (django-simple-history) with ``user`` and the file
    name as the reason, as a save() would have. The plan's townships are locked first (a second
    import or a unit form for them waits until this one commits); then, inside the lock, a plan
    that is no longer current (``still_current``) is replaced by ``reread()`` (the file parsed
    again, now seeing every unit written before the lock was had: they are matched, not created a
    second time), or refused when there is no ``reread``. Returns the plan written.
    """
    if plan.errors:
        raise PlanError(_("导入文件有%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)})
    try:
        with without_cycle_collection(), transaction.atomic():
            lock_townships(_townships(plan))
            if not still_current(plan):
                if reread is None:
                    raise PlanError(_("预览之后系统中的单位已被修改，未写入任何数据：请重新上传文件"))
                plan = reread()
                if plan.errors:
                    message = _("导入文件有%(n)d处错误，未写入任何数据") % {"n": len(plan.errors)}
                    raise PlanError(message, plan.errors)
                lock_townships(_townships(plan))  # the same file names the same townships
            # Dated once the lock is held: a plan parsed before this moment sees these rows as news.
            stamp = Stamp(
                user_id=user.pk if user is not None else None,
                when=timezone.now(),
                reason=(_("导入排查清单%(file)s") % {"file": plan.file_name})[:100],
            )
            _check_unchanged_since(plan)
            villages = _create_villages(plan, stamp)
            _create_units(plan, villages, stamp)
            _update_units(plan, villages, stamp)
            _write_rectifications(plan, stamp)
            _write_park_entries(plan, stamp)
    except IntegrityError as exc:
        raise PlanError(
            _("写入时与系统中的数据冲突，未写入任何数据，请重新导入（%(reason)s）") % {"reason": exc}
        ) from exc
    return plan
