"""The plan of an import: what each row of a list would do to the register (``UnitPlan``), and
how a checked plan is kept between the browser's preview and its confirmation (``dump_plan``,
``load_plan``: pickled, compressed, signed with SECRET_KEY; a plan that fails its signature or
cannot be unpickled is treated as absent)."""

import contextlib
import datetime
import gc
import pickle  # nosec B403 - only plans this server signed are loaded (load_plan)
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import models
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.models import Township
from core.tabular import Issue

from ..models import DEFECT_FIELDS


class Action(models.TextChoices):
    CREATE = "create", gettext_lazy("新增")
    UPDATE = "update", gettext_lazy("更新")
    UNCHANGED = "unchanged", gettext_lazy("不变")


class PlanError(Exception):
    """``apply`` refused a plan (it has errors, or the register changed since it was parsed).

    ``issues`` are the errors of the file as it was read again inside ``apply``, if it was.
    """

    def __init__(self, message: str, issues: Sequence[Issue] = ()):
        super().__init__(message)
        self.issues = list(issues)


class Current(NamedTuple):
    """A unit already in the register, as the import compares it (read in bulk as plain values)."""

    id: int
    name: str
    credit_code: str
    township_id: int
    township_name: str
    village_id: int | None
    village_name: str | None
    address: str
    phone: str
    grid: str
    owner: str
    industry: str
    premises: str
    watcher_name: str
    watcher_phone: str
    longitude: Decimal | None
    latitude: Decimal | None
    unlicensed: bool
    unsafe: bool
    no_legal_premises: bool
    no_env_measures: bool
    identified_on: datetime.date
    source: str
    status: str
    version: int


# The query columns of Current, in its field order.
_CURRENT_COLUMNS = (
    "id",
    "name",
    "credit_code",
    "township_id",
    "township__name",
    "village_id",
    "village__name",
    "address",
    "phone",
    *("grid", "owner", "industry", "premises", "watcher_name", "watcher_phone", "longitude", "latitude"),
    *DEFECT_FIELDS,
    "identified_on",
    "source",
    "status",
    "version",
)


class Period(NamedTuple):
    """A rectification of a matched unit (``reopened_on`` set once a relapse re-opened it)."""

    id: int
    enterprise_id: int
    method: str
    rectified_on: datetime.date
    demolished_m2: Decimal
    reopened_on: datetime.date | None


class ParkChoice(NamedTuple):
    """The park a row's 入驻园区 names (``values["park"]``), read from the parks of every township."""

    id: int
    name: str
    township: str


class Entry(NamedTuple):
    """A park entry recorded with a matched unit's rectification (``rectification_id``)."""

    id: int
    rectification_id: int
    park_id: int
    park_name: str
    entered_on: datetime.date
    deleted: bool


@dataclass(slots=True)
class PlannedRow:
    """What one row of the list would do to the register.

    ``values`` holds the checked value of every cell that was filled in (blank optional cells are
    absent): ``township`` a Township, ``village`` the village name, dates as ``date``, defects as
    bool, ``source``/``status``/``method`` as choice values, ``demolished_m2`` a Decimal,
    ``park`` a ParkChoice.
    ``changes`` maps a field to ``(old, new)`` for display (townships and villages by name);
    the key ``"rectification"`` holds ``(method, rectified_on, demolished_m2)`` triples, old None
    when a rectification is added; the key ``"park"`` the park names of the entry recorded with the
    row's rectification (old None when the entry is new), present only when the entry is written.
    ``unit`` is the matched unit as it was when parsed; ``unit_id`` its id, or the new unit's once
    the plan is applied.
    """

    number: int
    values: dict[str, Any]
    action: Action = Action.CREATE
    unit: Current | None = None
    unit_id: int | None = None
    matched_by: str = ""  # "credit_code" or "identity" (township + name + address)
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    rectification: str = ""  # "", "create" or "update" (a correction of the current one)
    period: Period | None = None  # the rectification corrected, when "update"
    valid: bool = True


@dataclass
class UnitPlan:
    file_name: str = ""
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    new_villages: list[tuple[Township, str]] = field(default_factory=list)
    parsed_at: datetime.datetime = field(default_factory=timezone.now)
    # The register was read with no write to its townships in flight (services.wait_for_writers):
    # only then can ``still_current`` vouch for it. False for a plan kept by an older version.
    settled: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: Action) -> int:
        return sum(1 for row in self.rows if row.valid and row.action == action)

    def rectifications(self, kind: str) -> int:
        return sum(1 for row in self.rows if row.valid and row.rectification == kind)

    def summary(self) -> str:
        return _(
            "新增单位%(created)d个，更新%(updated)d个，不变%(unchanged)d个；"
            "新增整治记录%(rect_created)d条，更正%(rect_updated)d条；新增村（社区）%(villages)d个"
        ) % {
            "created": self.count(Action.CREATE),
            "updated": self.count(Action.UPDATE),
            "unchanged": self.count(Action.UNCHANGED),
            "rect_created": self.rectifications("create"),
            "rect_updated": self.rectifications("update"),
            "villages": len(self.new_villages),
        }


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a list is read, written, or recorded.

    A 50,000-row list allocates a few hundred thousand small containers, none of them in a cycle
    (reference counting frees them all); the collector would walk them over and over, which is a
    fifth of the parse time (and four fifths of building the 50,000 entries of a batch's record
    while a plan is held). It is switched back on afterwards, as it was.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_PLAN_SALT = "enterprises.importing.plan"
_SIGNATURE_BYTES = 32  # SHA-256


def dump_plan(plan: UnitPlan) -> bytes:
    """The plan as bytes to keep with its upload: pickled, compressed, signed with SECRET_KEY.

    Reading a 50,000-row list takes seconds; keeping what was read lets the confirmation skip it
    when nothing changed in between (``still_current``).
    """
    with without_cycle_collection():
        data = zlib.compress(pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL), 1)
    return salted_hmac(_PLAN_SALT, data, algorithm="sha256").digest() + data


def load_plan(blob: bytes | memoryview | None) -> UnitPlan | None:
    """The plan ``dump_plan`` kept, or None when there is none or it cannot be trusted or read.

    Only bytes carrying this server's signature are unpickled. A plan written by an older version
    of the code, or under another SECRET_KEY, is None too: the caller reads the file again.
    """
    if not blob:
        return None
    blob = bytes(blob)
    signature, data = blob[:_SIGNATURE_BYTES], blob[_SIGNATURE_BYTES:]
    if not constant_time_compare(signature, salted_hmac(_PLAN_SALT, data, algorithm="sha256").digest()):
        return None
    try:
        with without_cycle_collection():
            plan = pickle.loads(zlib.decompress(data))  # nosec B301 - signed by this server, checked above
    except Exception:  # noqa: BLE001 - any unreadable plan means: read the file again
        return None
    return plan if isinstance(plan, UnitPlan) else None
