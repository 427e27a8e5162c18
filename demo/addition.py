"""The demo city's 加法 year (called by demo.city.seed_demo): indicators, parks, entries, freed land and
零四无 demonstrations for the 2018 campaign, beside the 减法 the rest of the demo writes.

The indicators are those of the Rui'an 2018 plan (SPEC 5): six parks started (1000 亩), 550,000 m²
completed, 1370 park entries of which 420 个转企, freed land, four 零四无 villages and two townships,
and one indicator kept as records (科技型中小企业, 120 家). Each has township targets that add up to
the city's, so the scorecard ranks every township on every indicator it was given.

Where the data come from, so that they agree with the register:

* **Parks** are the township's: one in use since 2016, and for some townships one completing in
  2018, one started in 2018, or one only planned. The map is the same at every scale.
* **Entries** are the units rectified by 搬迁入园 whose note says they moved into a park (as the
  screening list's 入驻园区 column records them: dated on the rectification, company form read from
  the credit code), a share of them flagged 个转企 by the park's staff, plus enterprises that were
  never 四无 units moving in. A unit found operating again (死灰复燃) left its park on that day; a few
  others left for other reasons.
* **Freed land** is the site of a demolition (拆除), freed a few days after it and taken through
  供地 → 开工 → 投产 for some.
* **Demonstrations** go through the services (``campaign.demonstrations``), whose check refuses a
  place that is not clean by the counting rules: the villages that apply are those the register
  shows clean (no unit open, no relapse in the 90 days before the check), computed from the plans.
  No township of the demo is ever clean (every one has units still open), so the townships that
  apply wait at 已申报 and ``zero_siwu_townships`` stays at 0: a red line a city would recognise.

Counts that follow the register (entries, 个转企, freed land) scale with it; parks, demonstrations
and the records do not. Deterministic for a seed (no clock, no unseeded randomness); nothing here
touches what the progress report counts.
"""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model

from campaign import demonstrations
from campaign.indicators import indicator_create
from campaign.models import BuiltIn, IndicatorRecord, IndicatorTarget, Park
from enterprises.credit_code import ALPHABET, make_credit_code
from enterprises.models import LandParcel, Method, ParkEntry

YEAR = 2018
START = datetime.date(YEAR, 1, 1)
END = datetime.date(YEAR, 12, 31)
DAY = datetime.timedelta(days=1)
MU_M2 = Decimal("666.67")  # one 亩 in square metres
CENT = Decimal("0.01")
PARK_NOTE = "已搬入小微企业园"  # the relocations that moved into a park (demo.city METHOD_NOTES)

# The 2018 plan's city targets. Those marked per unit follow the register and scale with it.
TECH_SME = "tech_sme"
TARGETS = {
    BuiltIn.PARKS_STARTED: 6,
    BuiltIn.PARK_STARTED_MU: 1000,
    BuiltIn.PARK_COMPLETED_M2: 550_000,
    BuiltIn.PARK_ENTRIES: 1370,  # per unit
    BuiltIn.INDIVIDUAL_TO_COMPANY: 420,  # per unit
    BuiltIn.LAND_FREED_MU: 1150,  # per unit
    BuiltIn.ZERO_SIWU_VILLAGES: 4,
    BuiltIn.ZERO_SIWU_TOWNSHIPS: 2,
    TECH_SME: 120,
}
SCALED = frozenset({BuiltIn.PARK_ENTRIES, BuiltIn.INDIVIDUAL_TO_COMPANY, BuiltIn.LAND_FREED_MU})
CUSTOM = {TECH_SME: ("科技型中小企业", "家")}

# Parks: townships (by position in demo.city.TOWNSHIPS) with a park completing in 2018, one started
# in 2018, and the townships given a start or a completion as a target (not always the same ones).
COMPLETING = (0, 2, 6, 7, 8, 11, 13, 16, 20)
STARTING = (1, 3, 6, 9, 12, 15, 19)
START_TARGETS = (1, 3, 6, 9, 10, 12)
PLANNED_ONLY = (4, 14, 17)
PARK_THEMES = ("智造", "科创", "五金", "轻工", "时尚", "汽配", "电商", "众创", "绿色", "数字")
TECH_TRADES = ("电子", "软件", "新材料", "智能装备", "生物", "光电", "信息", "节能")
TRADES = ("五金制品", "塑料制品", "家具", "服装", "鞋业", "汽配", "包装", "电器", "机械", "印刷")
RECORD_BATCHES = (
    (datetime.date(YEAR, 3, 20), 0.2),
    (datetime.date(YEAR, 5, 25), 0.25),
    (datetime.date(YEAR, 8, 10), 0.3),
    (datetime.date(YEAR, 10, 30), 0.35),
)
NEW_ENTRY_SHARE = 0.55  # of the entry target: enterprises that were never 四无 units
INDIVIDUAL_SHARE_UNITS = 0.52  # of the units' entries without an enterprise credit code
INDIVIDUAL_SHARE_NEW = 0.2
LEAVING = 0.04
# Villages designated through the year: one is checked in each window (if one is clean in it);
# the last waits after its check, and one more village waits after applying.
CHECK_WINDOWS = (
    (datetime.date(YEAR, 2, 5), datetime.date(YEAR, 3, 15)),
    (datetime.date(YEAR, 5, 1), datetime.date(YEAR, 6, 15)),
    (datetime.date(YEAR, 7, 1), datetime.date(YEAR, 8, 15)),
    (datetime.date(YEAR, 9, 1), datetime.date(YEAR, 10, 15)),
    (datetime.date(YEAR, 10, 20), datetime.date(YEAR, 11, 30)),
    (datetime.date(YEAR, 12, 1), datetime.date(YEAR, 12, 20)),
)
DEMO_VILLAGES = len(CHECK_WINDOWS) - 1
DEMO_TOWNSHIPS = (0, 8)  # apply (the two given the target), never clean, so never checked
CHECK_NOTE = "经验收，辖区内无未整治四无单位，90天内未发现死灰复燃"


# --- what the rest of the seeding hands over -----------------------------------------------------


@dataclass
class TownshipFacts:
    township: object
    plan: object
    clean: dict = field(default_factory=dict)  # village index -> [clean days of the year]
    moved: list = field(default_factory=list)  # (unit pk, rectification pk, unit plan, period plan)
    demolished: list = field(default_factory=list)  # (unit pk, unit plan, period plan)


class Facts:
    """What ``seed_addition`` needs of the register, gathered while it is written."""

    def __init__(self):
        self.townships = []

    def township(self, township, plan, units):
        facts = TownshipFacts(township, plan, clean=clean_days(units, len(plan.villages)))
        self.townships.append(facts)
        return facts

    @staticmethod
    def written(facts, units, rows, periods, rectifications):
        """A written batch: ``periods`` are (unit pk, period plan) in the order of ``rectifications``."""
        by_pk = {row.pk: unit for row, unit in zip(rows, units, strict=True)}
        for (pk, period), rectification in zip(periods, rectifications, strict=True):
            if period.method == Method.RELOCATED and period.note == PARK_NOTE:
                facts.moved.append((pk, rectification.pk, by_pk[pk], period))
            elif period.method == Method.DEMOLISHED and period.demolished_m2 >= 100:
                facts.demolished.append((pk, by_pk[pk], period))


def clean_days(units, villages):
    """{village index: days of the year on which the village is clean} by the rules of a 零四无 check:
    no unit open (identified, no period holding) and no relapse found in the 90 days that end then."""
    days = (END - START).days + 1
    dirty = [[0] * (days + 1) for _ in range(villages)]

    def mark(marks, first, last):  # [first, last) as dates, clipped to the year
        a, b = max((first - START).days, 0), min((last - START).days, days)
        if a < b:
            marks[a] += 1
            marks[b] -= 1

    never = END + DAY
    for unit in units:
        marks = dirty[unit.village]
        held = unit.identified_on
        for period in unit.periods:
            mark(marks, held, period.rectified_on)
            if period.reopened_on is None:
                held = never
                break
            held = period.reopened_on
            mark(marks, period.reopened_on, period.reopened_on + DAY * demonstrations.CLEAN_DAYS)
        mark(marks, held, never)
    found = {}
    for index, marks in enumerate(dirty):
        running, clean = 0, []
        for offset in range(days):
            running += marks[offset]
            if not running:
                clean.append(START + DAY * offset)
        if clean:
            found[index] = clean
    return found


# --- the 加法 year ---------------------------------------------------------------------------------


@dataclass
class AdditionSummary:
    indicators: int = 0
    parks: int = 0
    entries: int = 0
    parcels: int = 0
    records: int = 0
    demonstrations: int = 0


def seed_addition(campaign, facts, *, seed, scale):
    """Write the 加法 year of ``campaign`` from the register's ``facts`` (``Facts``)."""
    rng = random.Random(f"{seed}/addition")  # noqa: S311 - demo data, reproducible by design
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["admin", "inspector"])}
    admin = users.get("admin")
    summary = AdditionSummary()
    townships = [f.township for f in facts.townships]
    sizes = [f.plan.targets[0][1] for f in facts.townships]  # the 四无 target: the township's weight

    parks = _parks(seed, facts.townships)
    entries = _entries(rng, facts.townships, parks, scale)
    # A park holds what entered it, and some room to spare.
    entered = {}
    for entry in entries:
        entered[id(entry.park)] = entered.get(id(entry.park), 0) + 1
    for park in (p for ps in parks for p in ps):
        if park.capacity is not None:
            park.capacity = max(park.capacity, -(-entered.get(id(park), 0) * 11 // 10))
    Park.objects.bulk_create(p for ps in parks for p in ps)
    summary.parks = sum(len(ps) for ps in parks)
    ParkEntry.objects.bulk_create(entries, batch_size=1000)
    summary.entries = len(entries)
    parcels = _parcels(rng, facts.townships)
    LandParcel.objects.bulk_create(parcels, batch_size=1000)
    summary.parcels = len(parcels)

    targets = {key: max(1, round(n * scale)) if key in SCALED else n for key, n in TARGETS.items()}
    indicators = {}
    for key, target in targets.items():
        name, unit = CUSTOM.get(key, (None, None))
        indicators[key] = indicator_create(campaign, key, target, name=name, unit=unit, user=admin)
    summary.indicators = len(indicators)
    records = _records(seed, townships, indicators[TECH_SME], sizes)
    IndicatorRecord.objects.bulk_create(records)
    summary.records = len(records)

    chosen, waiting = _places(facts.townships)
    shares = _township_targets(rng, facts.townships, parks, entries, parcels, targets, sizes, chosen, waiting)
    # A township given nothing to do on an indicator gets no target (it is not listed unless it counts).
    IndicatorTarget.objects.bulk_create(
        IndicatorTarget(indicator=indicators[key], township=township, target=n, effective_on=START, created_by=admin)
        for key, by_township in shares.items()
        for township, n in zip(townships, by_township, strict=True)
        if n
    )
    if admin is not None and users.get("inspector") is not None:  # the steps need their roles
        inspector = users["inspector"]
        summary.demonstrations = _demonstrations(rng, campaign, facts.townships, chosen, waiting, admin, inspector)
    return summary


def _cents(value):
    return Decimal(value).quantize(CENT)


def _date(rng, first, last):
    return first + DAY * rng.randint(0, max(0, (last - first).days))


def _parks(seed, facts):
    """Each township's parks (unsaved), the same at every scale: [[Park, …] per township]."""
    found = []
    for index, f in enumerate(facts):
        rng = random.Random(f"{seed}/parks/{f.plan.name}")  # noqa: S311 - demo data
        stem = f.plan.name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        themes = rng.sample(PARK_THEMES, 4)
        parks = []

        def park(name, planned, started=None, completed=None, ratio=None, parks=parks, township=f.township):
            started_mu = planned if started else None
            m2 = _cents(planned * MU_M2 * Decimal(str(ratio))) if completed else None
            capacity = round(m2 / 900) if m2 else None
            parks.append(
                Park(
                    township=township,
                    name=name,
                    planned_mu=planned,
                    started_on=started,
                    started_mu=started_mu,
                    completed_on=completed,
                    completed_m2=m2,
                    capacity=capacity,
                )
            )

        # In use since 2016: every township has a park its relocated units could move into.
        started = _date(rng, datetime.date(2014, 9, 1), datetime.date(2015, 6, 30))
        done = _date(rng, started + DAY * 400, started + DAY * 540)
        park(f"{stem}小微企业园", _cents(rng.uniform(40, 110)), started, done, rng.uniform(1.5, 2.2))
        if index in COMPLETING:
            started = _date(rng, datetime.date(2016, 10, 1), datetime.date(2017, 6, 30))
            done = datetime.date(2018, 3, 12) if index == COMPLETING[2] else _date(rng, datetime.date(YEAR, 4, 1), END)
            park(f"{stem}{themes[0]}小微园", _cents(rng.uniform(35, 60)), started, done, rng.uniform(1.8, 2.4))
        if index in STARTING:
            day = _date(rng, datetime.date(YEAR, 4, 10), END - DAY * 40)
            if index == STARTING[1]:
                day = datetime.date(YEAR, 2, 26)  # one in the first quarter
            # The townships given a start as a target build larger parks than those that start unasked.
            low, high = (150, 220) if index in START_TARGETS else (60, 100)
            park(f"{stem}{themes[1]}产业园", _cents(rng.uniform(low, high)), day)
        if index in PLANNED_ONLY:
            park(f"{stem}{themes[2]}小微园（规划）", _cents(rng.uniform(50, 120)))
        found.append(parks)
    return found


def _credit_code(rng, region, taken):
    while True:
        code = make_credit_code("9", "1", region, "MB" + "".join(rng.choice(ALPHABET) for _ in range(6)))
        if code not in taken:
            taken.add(code)
            return code


def _entries(rng, facts, parks, scale):
    """Entries (unsaved): the units that moved into a park, then enterprises new to the register."""
    entries, taken = [], set()
    moved = sum(1 for f in facts for _pk, _r, _u, period in f.moved if period.rectified_on >= START)
    new_total = max(0, round(TARGETS[BuiltIn.PARK_ENTRIES] * scale * 1.06) - moved)
    weights = [sum(p.capacity or 0 for p in ps) * f.plan.targets[0][1] for f, ps in zip(facts, parks, strict=True)]
    whole = sum(weights)
    share = [new_total * w / whole for w in weights]
    for f, ps, n in zip(facts, parks, share, strict=True):
        in_use = [p for p in ps if p.completed_on is not None]

        def into(day, in_use=in_use):
            open_then = [p for p in in_use if p.completed_on <= day]
            return rng.choices(open_then, weights=[p.capacity for p in open_then])[0] if open_then else None

        for unit_pk, rectification_pk, unit, period in f.moved:
            park = into(period.rectified_on)
            if park is None:
                continue
            company = unit.credit_code.startswith("91")
            converted = not company and rng.random() < INDIVIDUAL_SHARE_UNITS
            left = period.reopened_on
            if left is None and rng.random() < LEAVING and period.rectified_on < END - DAY * 60:
                left = _date(rng, period.rectified_on + DAY * 30, END)
            entries.append(
                ParkEntry(
                    park=park,
                    enterprise_id=unit_pk,
                    rectification_id=rectification_pk,
                    name=unit.name,
                    credit_code=unit.credit_code,
                    industry=unit.industry,
                    entered_on=period.rectified_on,
                    left_on=left,
                    individual_to_company=converted,
                    company_form=company or converted,
                    note="个体工商户转为公司后入园" if converted else "",
                )
            )
        stem = f.plan.name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        count = int(n) + (1 if rng.random() < n - int(n) else 0)
        for _ in range(count):
            day = _date(rng, START + DAY * 20, END - DAY * 5)
            park = into(day)
            if park is None:
                continue
            trade = rng.choice(TRADES)
            converted = rng.random() < INDIVIDUAL_SHARE_NEW
            left = _date(rng, day + DAY * 30, END) if rng.random() < LEAVING and day < END - DAY * 60 else None
            entries.append(
                ParkEntry(
                    park=park,
                    name=f"{stem}{rng.choice(_BRANDS)}{trade}有限公司",
                    credit_code=_credit_code(rng, f"3399{f.plan.index // 6 + 1:02d}", taken),  # as its units
                    industry=trade,
                    entered_on=day,
                    left_on=left,
                    individual_to_company=converted,
                    company_form=True,
                    note="个体工商户转为公司后入园" if converted else "",
                )
            )
    return entries


_BRANDS = ("鑫源", "宏达", "永兴", "恒利", "金鑫", "兴旺", "顺发", "华强", "利民", "福源", "隆盛", "泰和", "荣昌")
_BRANDS += ("瑞丰",)


def _parcels(rng, facts):
    """Freed land (unsaved): the sites of demolitions of 100 m² or more, at their stages."""
    parcels = []
    for f in facts:
        for serial, (unit_pk, unit, period) in enumerate(f.demolished, start=1):
            freed = min(period.rectified_on + DAY * rng.randint(0, 12), END)
            area = max(CENT, _cents(period.demolished_m2 * Decimal(str(rng.uniform(1.3, 2.6))) / MU_M2))
            supplied = started = producing = exited = None
            if rng.random() < 0.45 and freed + DAY * 30 <= END:
                supplied = _date(rng, freed + DAY * 30, min(freed + DAY * 150, END))
                if rng.random() < 0.6 and supplied + DAY * 20 <= END:
                    started = _date(rng, supplied + DAY * 20, min(supplied + DAY * 90, END))
                    if rng.random() < 0.5 and started + DAY * 60 <= END:
                        producing = _date(rng, started + DAY * 60, min(started + DAY * 150, END))
            elif rng.random() < 0.05 and freed + DAY * 20 <= END:
                exited = _date(rng, freed + DAY * 20, END)  # given back to farming (复垦)
            village = f.plan.villages[unit.village].name
            parcels.append(
                LandParcel(
                    township=f.township,
                    name=f"{village}腾退地块{serial:03d}号",
                    area_mu=area,
                    source_id=unit_pk,
                    freed_on=freed,
                    supplied_on=supplied,
                    started_on=started,
                    producing_on=producing,
                    exited_on=exited,
                    note="复垦为耕地" if exited else "",
                )
            )
    return parcels


def _records(seed, townships, indicator, sizes):
    """科技型中小企业 assessed in four batches through the year (unsaved records of ``indicator``)."""
    rng = random.Random(f"{seed}/records")  # noqa: S311 - demo data
    total = round(TARGETS[TECH_SME] * 1.04)
    weights = [s * rng.uniform(0.4, 1.6) for s in sizes]
    records = []
    for township, weight in zip(townships, weights, strict=True):
        stem = township.name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        n = round(total * weight / sum(weights))
        names = set()
        for _ in range(n):
            day = rng.choices([d for d, _ in RECORD_BATCHES], weights=[w for _, w in RECORD_BATCHES])[0]
            while True:
                name = f"{stem}{rng.choice(_BRANDS)}{rng.choice(TECH_TRADES)}科技有限公司"
                if name not in names:
                    names.add(name)
                    break
            batch = [d for d, _ in RECORD_BATCHES].index(day) + 1
            records.append(
                IndicatorRecord(
                    indicator=indicator,
                    township=township,
                    name=name,
                    date=day,
                    amount=Decimal("1"),
                    note=f"{YEAR}年第{batch}批科技型中小企业评价入库",
                )
            )
    return records


def _split(total, weights):
    """Whole numbers adding up to ``total`` in proportion to ``weights`` (largest remainder)."""
    whole = sum(weights) or 1
    shares = [total * w / whole for w in weights]
    result = [int(s) for s in shares]
    for i in sorted(range(len(weights)), key=lambda i: (-(shares[i] - result[i]), i))[: total - sum(result)]:
        result[i] += 1
    return result


def _township_targets(rng, facts, parks, entries, parcels, targets, sizes, chosen, waiting):
    """{key: [target per township]}: each adds up to the city's, split by what the township can do
    (its parks, its relocations, its demolitions), with a wobble so that some fall short."""
    n = len(facts)
    index = {f.township.pk: i for i, f in enumerate(facts)}

    def wobble(weights, spread=0.35):
        return [w * rng.uniform(1 - spread, 1 + spread) for w in weights]

    def ones(positions):
        return [1 if i in positions else 0 for i in range(n)]

    def this_year(day):
        return day is not None and START <= day <= END

    started_mu = [float(sum(p.started_mu for p in ps if this_year(p.started_on))) or 150.0 for ps in parks]
    started_mu = [m if i in START_TARGETS else 0 for i, m in enumerate(started_mu)]
    completing = [float(sum(p.completed_m2 for p in ps if this_year(p.completed_on))) for ps in parks]
    entered, converted, freed = [0] * n, [0] * n, [0.0] * n
    for entry in entries:
        i = index[entry.park.township_id]
        entered[i] += 1
        converted[i] += entry.individual_to_company
    for parcel in parcels:
        freed[index[parcel.township_id]] += float(parcel.area_mu)
    # The villages: three townships whose village will be designated, and one whose village waits.
    villages = [c.position for c in chosen[:3]] + ([waiting[0]] if waiting else [])
    return {
        BuiltIn.PARKS_STARTED: ones(START_TARGETS),
        BuiltIn.PARK_STARTED_MU: _split(targets[BuiltIn.PARK_STARTED_MU], wobble(started_mu, 0.1)),
        BuiltIn.PARK_COMPLETED_M2: _split(targets[BuiltIn.PARK_COMPLETED_M2], wobble(completing, 0.15)),
        BuiltIn.PARK_ENTRIES: _split(targets[BuiltIn.PARK_ENTRIES], wobble([e + 1 for e in entered])),
        BuiltIn.INDIVIDUAL_TO_COMPANY: _split(
            targets[BuiltIn.INDIVIDUAL_TO_COMPANY], wobble([c + 1 for c in converted])
        ),
        BuiltIn.LAND_FREED_MU: _split(targets[BuiltIn.LAND_FREED_MU], wobble([a + 1 for a in freed])),
        BuiltIn.ZERO_SIWU_VILLAGES: _split(targets[BuiltIn.ZERO_SIWU_VILLAGES], ones(villages)),
        BuiltIn.ZERO_SIWU_TOWNSHIPS: _split(targets[BuiltIn.ZERO_SIWU_TOWNSHIPS], ones(DEMO_TOWNSHIPS)),
        TECH_SME: _split(targets[TECH_SME], wobble(sizes, 0.25)),
    }


@dataclass(frozen=True)
class _Place:
    position: int  # of the township in ``facts``
    village: int  # of the village in its plan
    checked: datetime.date  # a day it is clean on


def _places(facts):
    """The villages that apply and pass their check, one in each window of ``CHECK_WINDOWS`` where a
    village the register shows clean can be found (one per township), and (township position,
    village) of one that applies and waits, not clean yet."""
    chosen, used = [], set()
    for first, last in CHECK_WINDOWS:
        best = None
        for position, f in enumerate(facts):
            if position in used:
                continue
            for village, days in f.clean.items():
                day = next((d for d in days if first <= d <= last), None)
                if day is not None and (best is None or (day, position, village) < best):
                    best = (day, position, village)
        if best is not None:
            used.add(best[1])
            chosen.append(_Place(best[1], best[2], best[0]))
    waiting = next(
        (
            (position, village)
            for position in reversed(range(len(facts)))
            if position not in used
            for village in range(len(facts[position].plan.villages))
            if village not in facts[position].clean
        ),
        None,
    )
    return chosen, waiting


def _demonstrations(rng, campaign, facts, chosen, waiting, admin, inspector):
    """The villages of ``chosen`` apply, pass their check and are designated (the earliest in time in
    the first quarter), but the last, which waits after its check; the village ``waiting`` and the
    townships of ``DEMO_TOWNSHIPS`` wait after applying (none is clean). Through the services, so
    that each step has its history row, and the check is the product's own."""

    def village(position, index):
        f = facts[position]
        return f.township.villages.get(name=f.plan.villages[index].name)

    count = 0
    for number, place in enumerate(chosen):
        checked = place.checked
        applied = min(checked, max(START + DAY * 7, checked - DAY * rng.randint(12, 30)))
        demonstration = demonstrations.demonstration_apply(
            campaign=campaign,
            township=facts[place.position].township,
            village=village(place.position, place.village),
            applied_on=applied,
            user=admin,
            today=END,
        )
        count += 1
        demonstrations.demonstration_check(
            demonstration=demonstration, checked_on=checked, note=CHECK_NOTE, user=inspector, today=END
        )
        designated = checked + DAY * rng.randint(5, 14)
        if number < DEMO_VILLAGES and designated <= END:
            demonstrations.demonstration_designate(
                demonstration=demonstration, designated_on=designated, user=admin, today=END
            )
    if waiting is not None:
        demonstrations.demonstration_apply(
            campaign=campaign,
            township=facts[waiting[0]].township,
            village=village(*waiting),
            applied_on=datetime.date(YEAR, 11, 12),
            user=admin,
            today=END,
        )
        count += 1
    for number, position in enumerate(DEMO_TOWNSHIPS):
        if position < len(facts):
            demonstrations.demonstration_apply(
                campaign=campaign,
                township=facts[position].township,
                applied_on=datetime.date(YEAR, 9 + number, 14),
                user=admin,
                today=END,
            )
            count += 1
    return count
