"""A deterministic demo city (示范市) for ``manage.py seed_demo``, tests and benchmarks.

The data reproduce the public record of the 2018 campaign exactly at scale 1 — city target 9000,
4267 units rectified by 03-31 (rate 47.41) and 2785 units newly identified in the first quarter —
and look like a real register around those figures: 22 townships of three kinds, villages, grids,
Chinese business names by industry, owners, phones, credit codes for some, relapses (死灰复燃).

How the figures are made exact: every number of SPEC section 2 the record fixes is apportioned to
the townships first (largest remainder), and each township then fills its own quota day by day.

* identified(03-31) = 2785: each township gets its first-quarter share and spreads exactly that
  many identification dates over the quarter.
* rectified(03-31) = 4267: each township gets its share q1 (by target × its profile's 03-31 rate).
  The units carried in from late 2017 outnumber q1, so the first quarter never runs short of units
  to rectify. A unit whose relapse is found in the quarter and is not rectified again by 03-31 stops
  counting (SPEC 2), so the township rectifies one more unit in the quarter for each such relapse;
  a relapse re-rectified inside the quarter leaves the unit counted once. ``plan_township`` checks
  its own figure with the counting rule before anything is written.

Later quarters follow each township's profile (leaders, steady, laggards, a late starter, a fader),
so that on any week from February on the townships show all three colours; the city ends a little
above 100 %. ``scale`` multiplies every count (1 ≈ 11,000 units, 9 ≈ 100,000, 90 ≈ 1,000,000; the
record's figures scale with it) and rows are written with bulk_create in batches, one township at a
time, never a query per unit.
"""

import datetime
import hashlib
import heapq
import itertools
import math
import random
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from campaign.models import (
    Campaign,
    Demonstration,
    Indicator,
    IndicatorRecord,
    IndicatorTarget,
    Milestone,
    Outline,
    Park,
    TargetRevision,
    Township,
    Village,
)
from campaign.services import assign_role, campaign_create
from core.access import Role
from demo import addition
from enterprises.credit_code import ALPHABET, make_credit_code
from enterprises.models import (
    DEFECT_FIELDS,
    Enterprise,
    LandParcel,
    Method,
    ParkEntry,
    Rectification,
    Relapse,
    Source,
    Status,
)
from reports import rules

DEFAULT_SEED = 2018
CAMPAIGN_SLUG = "2018"
CITY_NAME = "示范市"
YEAR = 2018
START = datetime.date(YEAR, 1, 1)
END = datetime.date(YEAR, 12, 31)
QUARTER_ENDS = [datetime.date(YEAR, 3, 31), datetime.date(YEAR, 6, 30), datetime.date(YEAR, 9, 30), END]
Q1_END = QUARTER_ENDS[0]

# The public record, at scale 1.
CITY_TARGET = 9000
Q1_RECTIFIED = 4267
Q1_IDENTIFIED = 2785

# One township's target is raised mid-year to show a revision.
RAISED_TOWNSHIP = "桥头镇"
RAISED_ON = datetime.date(YEAR, 7, 1)
RAISED_BY = 0.2
RAISE_REASON = "上半年回头看新增排查底数，经市整治办同意调增年度任务"

DAY = datetime.timedelta(days=1)

# What the fingerprint reads of the 加法 tables besides their natural keys.
PARK_FIELDS = ("planned_mu", "started_on", "started_mu", "completed_on", "completed_m2", "capacity")
ENTRY_FIELDS = ("name", "credit_code", "industry", "entered_on", "left_on", "individual_to_company", "company_form")
ENTRY_FIELDS += ("note",)
PARCEL_FIELDS = ("name", "area_mu", "freed_on", "supplied_on", "started_on", "producing_on", "exited_on", "note")


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    display_name: str
    role: str  # as printed for the demo's visitors
    access_role: Role
    is_superuser: bool = False
    township: str = ""  # township staff: the township's name
    department: str = ""  # inspectors


DEMO_USERS = (
    DemoUser("admin", "siwu-demo-2018", "市整治办管理员", "市级管理员（超级用户）", Role.CITY_ADMIN, is_superuser=True),
    DemoUser("city_viewer", "shiling-dao-2018", "市领导", "市领导（只读）", Role.CITY_VIEWER),
    DemoUser("inspector", "ducha-zu-2018", "市督查组", "督查组", Role.INSPECTOR, department="市督查组"),
    DemoUser("chengguan", "cg-zhengzhi-2018", "城关镇整治办", "城关镇工作人员", Role.TOWNSHIP_STAFF, township="城关镇"),
)


class NotEmpty(Exception):
    """The database already holds data the demo would clash with."""


# --- the city ------------------------------------------------------------------------------------

# (name, size, profile). Sizes weigh targets and the units found; the order is the display order.
TOWNSHIPS = (
    ("东城街道", 1.25, "leader"),
    ("西城街道", 1.10, "steady"),
    ("南湖街道", 0.95, "leader"),
    ("北山街道", 0.85, "lagging"),
    ("江滨街道", 0.90, "good"),
    ("凤凰街道", 0.80, "fader"),
    ("城关镇", 1.35, "good"),
    ("桥头镇", 1.20, "good"),
    ("新塘镇", 1.15, "leader"),
    ("白沙镇", 1.05, "steady"),
    ("马岭镇", 0.90, "weak"),
    ("古城镇", 1.00, "good"),
    ("龙泉镇", 0.95, "steady"),
    ("黄田镇", 0.85, "lagging"),
    ("青山镇", 0.80, "late"),
    ("柳溪镇", 0.75, "good"),
    ("大岭镇", 0.70, "steady"),
    ("石门乡", 0.60, "weak"),
    ("云峰乡", 0.45, "lagging"),
    ("梅岭乡", 0.50, "leader"),
    ("杨家乡", 0.40, "steady"),
    ("高桥乡", 0.55, "good"),
)

# Net share of the annual target rectified by each quarter's end, and the first quarter's shape
# (cumulative share of the quarter's work = elapsed ** gamma: below 1 an early push, above 1 a slow
# start and a sprint before the milestone). Against the milestones 30/60/80/100 with a 10-point band
# a leader is green all year, "steady" green to yellow, "lagging" yellow, "weak" red; "late" is red
# in spring and catches up, "fader" starts green and slides to red by autumn.
PROFILES = {
    "leader": ((0.70, 0.84, 0.97, 1.12), 0.8),
    "good": ((0.54, 0.69, 0.86, 1.05), 0.9),
    "steady": ((0.41, 0.61, 0.81, 1.01), 1.0),
    "lagging": ((0.28, 0.53, 0.74, 0.96), 1.3),
    "weak": ((0.17, 0.43, 0.64, 0.88), 1.5),
    "late": ((0.12, 0.55, 0.81, 1.03), 3.0),
    "fader": ((0.56, 0.62, 0.67, 0.91), 0.9),
}

COMMUNITY_NAMES = (
    "东门", "文昌", "新华", "滨江", "凤鸣", "学府", "和平", "朝阳", "锦绣", "春晖", "翠苑", "景湖",
    "望江", "兴业", "南苑", "北门", "城西", "花园", "振兴", "金桥", "福田", "长安", "青年", "解放",
)  # fmt: skip
VILLAGE_HEADS = "上下前后东西南北大小新老高黄白石马张李王陈杨柳桃梅竹松枫荷龙凤金"
VILLAGE_TAILS = "塘溪坑岭山坪田湾洋桥头口家庄坞埠垟岙畈圩"
ROADS = (
    "人民路", "解放路", "建设路", "中山路", "新华路", "东风路", "工业路", "环城北路", "环城南路", "学府路",
    "滨江路", "朝阳路", "幸福路", "文化路", "胜利路", "青年路", "光明路", "和平路", "迎宾大道", "商城路",
    "兴业路", "振兴路", "站前路", "江滨路",
)  # fmt: skip
LANDMARKS = (
    "村委会旁", "老粮站旁", "大桥东侧", "小学对面", "水库边", "山脚下", "省道旁", "村口", "老祠堂后",
    "菜市场后面", "加油站北侧", "溪边",
)  # fmt: skip

# --- units ---------------------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾"  # the commonest, several times
    "王李张刘陈杨黄赵吴周王李张刘陈"
    "肖田董潘袁蔡蒋余叶程魏苏吕丁沈姚卢钟方金汪陆范邵傅应毛俞楼"
)
GIVEN_NAMES = (
    "建国", "建华", "建军", "国强", "国平", "志强", "志明", "永刚", "永平", "卫东", "伟", "勇", "军", "杰",
    "涛", "斌", "超", "明", "刚", "强", "海波", "海军", "文斌", "德明", "德华", "福生", "春生", "金龙",
    "立新", "晓东", "宏伟", "俊杰", "浩", "鹏", "磊", "鑫", "秀英", "桂英", "秀兰", "玉兰", "桂兰", "丽",
    "芳", "艳", "娟", "霞", "敏", "静", "燕", "红梅", "海燕", "小红", "丽华", "美玲", "雪梅", "晓燕",
)  # fmt: skip
BRANDS = (
    "鑫源", "宏达", "永兴", "恒利", "金鑫", "兴旺", "顺发", "华强", "利民", "福源", "宏发", "隆盛", "佳美",
    "祥和", "鸿运", "顺达", "同心", "诚信", "新兴", "创业", "旺达", "富民", "康达", "万家", "聚财", "长兴",
    "众鑫", "益民", "鑫隆", "发达", "泰和", "荣昌",
)  # fmt: skip
PHONE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156",
    "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "198", "199",
)  # fmt: skip

PREMISES = ("出租房", "自建房", "临时搭建", "厂房", "沿街店面", "露天场地")
MAKESHIFT = {"临时搭建", "露天场地"}


@dataclass(frozen=True)
class Industry:
    label: str
    suffixes: tuple
    by_kind: tuple  # weight in a 街道, a 镇, a 乡
    premises: tuple  # weights in PREMISES order
    defects: tuple  # weights in DEFECT_FIELDS order
    method_bias: str = ""  # "relocate", "upgrade" or "farm"
    personal: bool = False  # names like 张记豆腐坊 / 老王汽修店


INDUSTRIES = (
    Industry("食品加工", ("豆腐坊", "面条加工坊", "糕点作坊", "米粉加工坊", "酱菜作坊", "酿酒坊", "豆芽加工点",
             "熟食加工坊", "年糕作坊", "炒货加工点"), (12, 14, 12), (35, 35, 10, 5, 15, 0), (9, 6, 3, 3),
             "upgrade", True),
    Industry("废品回收", ("废品回收站", "再生资源回收点", "废旧物资收购站", "废品收购点"), (10, 10, 8),
             (10, 10, 45, 5, 5, 25), (6, 7, 7, 6)),
    Industry("机动车维修", ("汽修店", "汽车修理部", "汽车维修点", "摩托车修理铺", "洗车店", "钣金喷漆店"),
             (14, 10, 6), (25, 10, 15, 10, 40, 0), (7, 6, 3, 6), "", True),
    Industry("木材加工", ("木材加工厂", "木业加工点", "板材加工厂", "木料加工场", "锯板厂"), (2, 9, 12),
             (10, 20, 35, 30, 0, 5), (5, 8, 5, 6), "relocate"),
    Industry("家具制造", ("家具厂", "家具加工坊", "红木家具作坊", "沙发加工厂", "橱柜加工点"), (4, 8, 6),
             (20, 20, 20, 40, 0, 0), (5, 7, 4, 7), "relocate"),
    Industry("五金加工", ("五金加工点", "五金制品厂", "金属制品加工坊", "标准件加工点", "铝合金加工店",
             "不锈钢加工点"), (8, 11, 6), (35, 30, 10, 25, 0, 0), (6, 7, 3, 4), "relocate"),
    Industry("塑料加工", ("塑料造粒厂", "塑料颗粒加工点", "再生塑料加工厂", "塑料制品作坊", "编织袋厂"),
             (3, 7, 5), (15, 20, 35, 30, 0, 0), (5, 6, 4, 10), "relocate"),
    Industry("服装加工", ("服装加工厂", "制衣作坊", "织带加工点", "针织加工坊", "来料加工点", "鞋帮加工点"),
             (14, 9, 5), (50, 35, 5, 10, 0, 0), (8, 7, 3, 2), "upgrade"),
    Industry("畜禽养殖", ("养猪场", "养鸡场", "养鸭场", "肉牛养殖场", "养羊场", "鸽子养殖场"), (0, 8, 16),
             (0, 30, 60, 0, 0, 10), (4, 3, 6, 9), "farm"),
    Industry("餐饮", ("饭店", "小吃店", "农家乐", "烧烤店", "面馆", "快餐店", "大排档"), (18, 8, 6),
             (35, 15, 10, 0, 40, 0), (9, 7, 2, 4), "upgrade", True),
    Industry("仓储物流", ("仓储点", "物流仓库", "货物堆场", "冷库", "快递中转点"), (9, 5, 3),
             (20, 10, 30, 25, 0, 15), (5, 8, 6, 2)),
    Industry("石材加工", ("石材加工厂", "石料厂", "碎石场", "石板加工点"), (1, 4, 9), (5, 10, 40, 20, 0, 25),
             (4, 6, 6, 9)),
    Industry("纸制品加工", ("纸箱加工点", "印刷厂", "包装材料加工点"), (5, 4, 2), (30, 25, 10, 35, 0, 0),
             (6, 7, 3, 4)),
)  # fmt: skip

METHODS = (Method.CLOSED, Method.UPGRADED, Method.RELOCATED, Method.DEMOLISHED)
METHOD_NOTES = {
    Method.CLOSED: ("", "", "已断水断电，清除生产设备", "责令停止经营，已查封设备"),
    Method.UPGRADED: ("", "已办理营业执照，完善消防设施", "已补办证照并整改安全隐患", "已安装环保处理设施"),
    Method.RELOCATED: ("已搬入小微企业园", "已搬迁至工业功能区"),
    Method.DEMOLISHED: ("违章搭建已拆除", "", "已拆除并复耕"),
}
RELAPSE_NOTES = (
    "回头看发现该点位已恢复生产",
    "群众举报夜间偷偷生产",
    "督查组明察暗访发现死灰复燃",
    "网格员巡查发现重新开张",
    "拆除后原地重新搭建",  # only after a demolition: keep it last
)

# 2017 and 2018 public holidays and the weekend days worked in exchange (调休).
_HOLIDAY_SPANS = (
    ("2017-10-01", "2017-10-08"),
    ("2017-12-30", "2018-01-01"),
    ("2018-02-15", "2018-02-21"),
    ("2018-04-05", "2018-04-07"),
    ("2018-04-29", "2018-05-01"),
    ("2018-06-16", "2018-06-18"),
    ("2018-09-22", "2018-09-24"),
    ("2018-10-01", "2018-10-07"),
)
HOLIDAYS = frozenset(
    datetime.date.fromisoformat(first) + DAY * i
    for first, last in _HOLIDAY_SPANS
    for i in range((datetime.date.fromisoformat(last) - datetime.date.fromisoformat(first)).days + 1)
)
WORKED_WEEKENDS = frozenset(
    datetime.date.fromisoformat(d)
    for d in ("2017-09-30", "2018-02-11", "2018-02-24", "2018-04-08", "2018-04-28", "2018-09-29", "2018-09-30")
)


# --- plans: plain values, no database ------------------------------------------------------------


@dataclass(frozen=True)
class VillagePlan:
    name: str
    kind: str
    grids: int
    size: float  # share of the township's units found there


@dataclass
class TownshipPlan:
    index: int
    name: str
    kind: str
    profile: str
    targets: list  # [(effective_on, target)]
    villages: list
    quotas: list  # net rectified(d) due by each quarter's end
    identified: list  # units identified in each quarter of the year
    stock: int  # open units carried in from late 2017
    closed_2017: int  # units identified and rectified in 2017
    relapses: dict = field(default_factory=dict)  # kind -> how many


@dataclass(slots=True)
class UnitPlan:
    name: str
    address: str
    village: int
    grid: str
    owner: str
    phone: str
    industry: str
    premises: str
    defects: tuple
    credit_code: str
    identified_on: datetime.date
    source: str
    status: str = Status.OPEN
    periods: list = field(default_factory=list)  # [PeriodPlan]


@dataclass(slots=True)
class PeriodPlan:
    rectified_on: datetime.date
    method: str
    demolished_m2: Decimal
    note: str
    reopened_on: datetime.date | None = None
    relapse_note: str = ""


@dataclass
class CityPlan:
    seed: int
    scale: float
    target: int
    q1_rectified: int
    q1_identified: int
    townships: list


def apportion(total, weights, step=1):
    """Split ``total`` in proportion to ``weights`` (largest remainder), in multiples of ``step``."""
    units = total // step
    whole = sum(weights)
    shares = [units * w / whole for w in weights]
    result = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(shares[i] - result[i]), i))
    for i in by_remainder[: units - sum(result)]:
        result[i] += 1
    result = [r * step for r in result]
    result[max(range(len(weights)), key=lambda i: weights[i])] += total - units * step
    return result


def plan_city(seed=DEFAULT_SEED, scale=1):
    """Township-level figures: targets, quotas, carried stock, villages. Pure and deterministic."""
    rng = random.Random(f"{seed}/city")
    target = round(CITY_TARGET * scale)
    q1_rectified = round(Q1_RECTIFIED * scale)
    q1_identified = round(Q1_IDENTIFIED * scale)
    sizes = [size for _, size, _ in TOWNSHIPS]
    targets = apportion(target, sizes, step=10 if target % 10 == 0 and target >= 1000 else 1)
    profiles = []
    for _, _, profile in TOWNSHIPS:
        shares, gamma = PROFILES[profile]
        wobble = rng.uniform(-0.02, 0.02)
        profiles.append(([s + wobble for s in shares], gamma))
    q1 = apportion(q1_rectified, [t * p[0][0] for t, p in zip(targets, profiles)])
    i1 = apportion(q1_identified, [s * rng.uniform(0.85, 1.15) for s in sizes])
    relapse_kinds = {"q1_back": 4, "q1_open": 4, "later": 26, "carried": 4}
    relapses = [dict.fromkeys(relapse_kinds, 0) for _ in TOWNSHIPS]
    for kind, n in relapse_kinds.items():
        for i in rng.choices(range(len(TOWNSHIPS)), weights=targets, k=max(1, round(n * scale))):
            relapses[i][kind] += 1

    plans = []
    for index, (name, _, profile) in enumerate(TOWNSHIPS):
        kind = Township.kind_from_name(name)
        base = targets[index]
        revisions = [(START, base)]
        if name == RAISED_TOWNSHIP:
            revisions.append((RAISED_ON, max(base + 1, int(round(base * (1 + RAISED_BY), -1)))))
        shares, _ = profiles[index]
        quotas = [q1[index]]
        for k in range(1, 4):
            in_force = rules.target_on(revisions, QUARTER_ENDS[k])
            quotas.append(max(quotas[-1], round(shares[k] * in_force)))
        first_q = q1[index] + relapses[index]["q1_open"]
        stock = math.ceil(first_q * rng.uniform(1.06, 1.22)) + 2
        open_share = rng.uniform(0.08, 0.13) + (0.05 if profile in ("weak", "lagging") else 0)
        year_events = quotas[-1] + relapses[index]["q1_open"]
        rest = max(round((year_events / (1 - open_share)) - stock - i1[index]), round(0.25 * i1[index]))
        identified = [i1[index], *apportion(rest, [0.42, 0.33, 0.25])]
        plans.append(
            TownshipPlan(
                index=index,
                name=name,
                kind=kind,
                profile=profile,
                targets=revisions,
                villages=_plan_villages(seed, name, kind, scale),
                quotas=quotas,
                identified=identified,
                stock=stock,
                closed_2017=round(stock * rng.uniform(0.08, 0.16)),
                relapses=relapses[index],
            )
        )
    return CityPlan(seed, scale, target, q1_rectified, q1_identified, plans)


def _plan_villages(seed, township, kind, scale):
    # A generator of its own: the map is the same at every scale.
    rng = random.Random(f"{seed}/villages/{township}")
    n = rng.randint(4, 12)
    if kind == Township.Kind.JIEDAO:
        names = [f"{stem}社区" for stem in rng.sample(COMMUNITY_NAMES, n)]
        village_kind = Village.Kind.COMMUNITY
    else:
        names = []
        while len(names) < n:
            name = f"{rng.choice(VILLAGE_HEADS)}{rng.choice(VILLAGE_TAILS)}村"
            if name not in names and name[:-1] != township[:2]:
                names.append(name)
        village_kind = Village.Kind.VILLAGE
    grid_base = max(1, round(math.sqrt(scale)))
    return [
        VillagePlan(name, village_kind, rng.randint(2, 5) * grid_base, rng.uniform(0.4, 2.2) ** 2) for name in names
    ]


def _day_weight(day):
    if day in HOLIDAYS:
        return 0.08
    if day in WORKED_WEEKENDS or day.weekday() < 5:
        return 1.0
    return 0.3 if day.weekday() == 5 else 0.15


def _days(first, last):
    return [first + DAY * i for i in range((last - first).days + 1)]


def _spread(rng, total, days, gamma=1.0, noise=0.3, sprint=False):
    """Split ``total`` exactly over ``days``: workdays weigh more, weeks and days vary, and the
    cumulative share follows elapsed ** gamma."""
    weekly = {}
    weights = []
    for day in days:
        week = day.isocalendar()[:2]
        if week not in weekly:
            weekly[week] = rng.lognormvariate(0, noise)
        w = _day_weight(day) * weekly[week] * rng.lognormvariate(0, noise)
        if sprint and (days[-1] - day).days < 7:
            w *= 1.3
        weights.append(w)
    cumulative = list(itertools.accumulate(weights))
    counts, before = [], 0
    for i, running in enumerate(cumulative):
        now = total if i == len(cumulative) - 1 else round(total * (running / cumulative[-1]) ** gamma)
        counts.append(now - before)
        before = now
    return counts


def _person(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def _phone(rng):
    if rng.random() < 0.04:
        return ""
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _credit_code(rng, region, factory, taken):
    while True:
        body = "MA" + "".join(rng.choice(ALPHABET) for _ in range(6))
        kind = "1" if factory and rng.random() < 0.7 else "2"
        code = make_credit_code("9", kind, region, body)
        if code not in taken:
            taken.add(code)
            return code


def _weighted(rng, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


class _UnitMaker:
    """Makes one township's units: identity, place, defects; unique by (name, address)."""

    def __init__(self, rng, plan, codes):
        self.rng = rng
        self.plan = plan
        self.codes = codes
        self.seen = set()
        kind_col = {Township.Kind.JIEDAO: 0, Township.Kind.ZHEN: 1, Township.Kind.XIANG: 2}[plan.kind]
        self.industry_weights = [ind.by_kind[kind_col] for ind in INDUSTRIES]
        self.village_weights = [v.size for v in plan.villages]
        self.roads = rng.sample(ROADS, 6)
        self.stem = plan.name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        self.region = f"3399{plan.index // 6 + 1:02d}"

    def make(self, identified_on, source):
        rng = self.rng
        industry = _weighted(rng, INDUSTRIES, self.industry_weights)
        village_index = _weighted(rng, range(len(self.plan.villages)), self.village_weights)
        village = self.plan.villages[village_index]
        owner = _person(rng)
        premises = _weighted(rng, PREMISES, industry.premises)
        for attempt in itertools.count():
            name = self._name(industry, village, owner)
            address = self._address(village, attempt)
            if (name, address) not in self.seen:
                self.seen.add((name, address))
                break
        defect_weights = list(industry.defects)
        if premises in MAKESHIFT:
            defect_weights[2] *= 3
        k = _weighted(rng, (1, 2, 3), (47, 37, 16))
        chosen = set()
        while len(chosen) < k:
            chosen.add(_weighted(rng, range(4), defect_weights))
        defects = tuple(i in chosen for i in range(4))
        has_code = rng.random() < (0.05 if defects[0] else 0.6)
        code = _credit_code(rng, self.region, "厂" in name, self.codes) if has_code else ""
        return UnitPlan(
            name=name,
            address=address,
            village=village_index,
            grid=f"{village.name}第{rng.randint(1, village.grids)}网格",
            owner=owner,
            phone=_phone(rng),
            industry=industry.label,
            premises=premises,
            defects=defects,
            credit_code=code,
            identified_on=identified_on,
            source=source,
        )

    def _name(self, industry, village, owner):
        rng = self.rng
        suffix = rng.choice(industry.suffixes)
        roll = rng.random()
        if roll < 0.08:
            # Many 四无 units have no signboard: the register names them by trade and owner.
            return f"无招牌{suffix}（{owner}）"
        if industry.personal and roll < 0.30:
            return f"{owner[0]}记{suffix}" if rng.random() < 0.6 else f"老{owner[0]}{suffix}"
        if village.kind == Village.Kind.VILLAGE and roll < 0.30:
            return f"{village.name}{owner}{suffix}"
        if roll < 0.37:
            return f"{self.stem}{suffix}"
        return f"{rng.choice(BRANDS)}{suffix}"

    def _address(self, village, attempt):
        rng = self.rng
        where = f"{self.plan.name}{village.name}"
        if attempt > 20:
            return f"{where}{rng.choice(self.roads)}{rng.randint(1, 400)}号附{attempt}号"
        if village.kind == Village.Kind.COMMUNITY:
            return f"{where}{rng.choice(self.roads)}{rng.randint(1, 400)}号"
        if rng.random() < 0.25:
            return f"{where}{rng.choice(LANDMARKS)}"
        return f"{where}{rng.randint(1, 12)}组{rng.randint(1, 120)}号"


def _method(rng, unit, relapse=False):
    if relapse:
        weights = [60, 5, 10, 25]
    else:
        weights = [52, 28, 11, 7]
        bias = next(ind.method_bias for ind in INDUSTRIES if ind.label == unit.industry)
        if bias == "relocate":
            weights[2] *= 2
        elif bias == "upgrade":
            weights[1] *= 1.6
        elif bias == "farm":
            weights[0] *= 1.2
            weights[3] *= 2
        if unit.premises in MAKESHIFT:
            weights[3] *= 1.8
    return _weighted(rng, METHODS, weights)


def _period(rng, unit, day, relapse=False):
    method = _method(rng, unit, relapse)
    area = Decimal("0.00")
    if method == Method.DEMOLISHED:
        low, high = (300, 3000) if unit.premises == "厂房" else (30, 600) if unit.premises in MAKESHIFT else (50, 800)
        area = (Decimal(rng.randint(low * 10, high * 10)) / 10).quantize(Decimal("0.01"))
    return PeriodPlan(rectified_on=day, method=method, demolished_m2=area, note=rng.choice(METHOD_NOTES[method]))


def plan_township(city, plan):
    """Every unit of one township with its rectified periods and relapses. Pure and deterministic."""
    rng = random.Random(f"{city.seed}/{plan.index}/{plan.name}")
    maker = _UnitMaker(rng, plan, codes=set())
    _, gamma = PROFILES[plan.profile]

    # Identification: units closed in 2017, the stock carried in, then each quarter of the year.
    closed_2017 = []
    days = _days(datetime.date(2017, 4, 1), datetime.date(2017, 9, 29))
    for day, n in zip(days, _spread(rng, plan.closed_2017, days)):
        closed_2017 += [maker.make(day, Source.SCREENING) for _ in range(n)]
    for unit in closed_2017:
        done = min(unit.identified_on + DAY * rng.randint(5, 80), datetime.date(2017, 12, 28))
        unit.periods.append(_period(rng, unit, done))
    stock = []
    days = _days(datetime.date(2017, 10, 9), datetime.date(2017, 12, 29))
    for day, n in zip(days, _spread(rng, plan.stock, days)):
        stock += [maker.make(day, _source(rng, late=False)) for _ in range(n)]
    found_on = {}
    first = START
    for quarter_end, n in zip(QUARTER_ENDS, plan.identified):
        days = _days(first, quarter_end)
        for day, k in zip(days, _spread(rng, n, days, noise=0.4)):
            found_on[day] = [maker.make(day, _source(rng, late=True)) for _ in range(k)]
        first = quarter_end + DAY

    # Rectification: each quarter's (net) quota spread over its days; the units waiting longest go
    # first, give or take a few weeks. One extra in the first quarter per relapse that it re-opens.
    rectify_on = {}
    first, done = START, 0
    for k, quarter_end in enumerate(QUARTER_ENDS):
        due = plan.quotas[k] - done + (plan.relapses["q1_open"] if k == 0 else 0)
        days = _days(first, quarter_end)
        shape = gamma if k == 0 else 1.0
        rectify_on.update(zip(days, _spread(rng, due, days, gamma=shape, noise=0.3, sprint=k < 3)))
        done += due - (plan.relapses["q1_open"] if k == 0 else 0)
        first = quarter_end + DAY
    waiting = []
    order = itertools.count()
    for unit in stock:
        heapq.heappush(waiting, (unit.identified_on.toordinal() + rng.uniform(0, 45), next(order), unit))
    rectified, carry = [], 0
    for day in _days(START, END):
        for unit in found_on.get(day, ()):
            heapq.heappush(waiting, (day.toordinal() + rng.uniform(0, 45), next(order), unit))
        carry += rectify_on.get(day, 0)
        while carry and waiting:
            unit = heapq.heappop(waiting)[2]
            unit.periods.append(_period(rng, unit, day))
            rectified.append(unit)
            carry -= 1
    for _, _, unit in waiting:
        late = unit.identified_on > datetime.date(YEAR, 11, 30)
        unit.status = Status.IN_PROGRESS if rng.random() < (0.2 if late else 0.45) else Status.OPEN

    _plan_relapses(rng, plan, rectified, closed_2017)
    for unit in itertools.chain(closed_2017, rectified):
        if unit.periods[-1].reopened_on is None:
            unit.status = Status.RECTIFIED
        else:
            unit.status = Status.IN_PROGRESS if rng.random() < 0.4 else Status.OPEN

    units = closed_2017 + stock + [u for day in sorted(found_on) for u in found_on[day]]
    net = rectified_on_day(units, Q1_END)
    if net != plan.quotas[0]:
        raise AssertionError(f"{plan.name}: rectified(03-31) is {net}, its share of the record is {plan.quotas[0]}")
    return units


def _source(rng, late):
    weights = (80, 13, 7) if late else (92, 6, 2)
    return _weighted(rng, (Source.SCREENING, Source.COMPLAINT, Source.INSPECTION), weights)


def _plan_relapses(rng, plan, rectified, closed_2017):
    """死灰复燃 of four kinds; only "q1_open" moves rectified(03-31), and the quota allowed for it."""
    used = set()

    def pick(candidates, n, unit_of=lambda c: c):
        candidates = [c for c in candidates if id(unit_of(c)) not in used]
        chosen = rng.sample(candidates, min(n, len(candidates)))
        used.update(id(unit_of(c)) for c in chosen)
        return chosen

    def relapse(unit, found, again):
        period = unit.periods[-1]
        period.reopened_on = found
        notes = RELAPSE_NOTES if period.method == Method.DEMOLISHED else RELAPSE_NOTES[:-1]
        period.relapse_note = rng.choice(notes)
        if again is not None:
            unit.periods.append(_period(rng, unit, again, relapse=True))

    def later_again(found):
        if rng.random() < 0.65 and (END - found).days >= 7:
            return found + DAY * rng.randint(7, min(75, (END - found).days))
        return None

    late_march = datetime.date(YEAR, 3, 24)
    # Re-opened and rectified again inside the first quarter: counted once on 03-31.
    early = [u for u in rectified if u.periods[0].rectified_on <= late_march - DAY * 5]
    for unit in pick(early, plan.relapses["q1_back"]):
        a = unit.periods[0].rectified_on
        found = a + DAY * rng.randint(5, (late_march - a).days)
        relapse(unit, found, found + DAY * rng.randint(0, (Q1_END - found).days))
    # Re-opened in the first quarter and still open on 03-31 (rectified again later, or never).
    for unit in pick([u for u in rectified if u.periods[0].rectified_on <= late_march], plan.relapses["q1_open"]):
        a = unit.periods[0].rectified_on
        found = a + DAY * rng.randint(5, (Q1_END - a).days)
        relapse(unit, found, Q1_END + DAY * rng.randint(1, 90) if rng.random() < 0.6 else None)
    # Found from April on.
    april = datetime.date(YEAR, 4, 1)
    candidates = []
    for unit in rectified:
        a = unit.periods[0].rectified_on
        low, high = max(a + DAY * 14, april), min(a + DAY * 150, datetime.date(YEAR, 12, 20))
        if low <= high:
            candidates.append((unit, low, high))
    for unit, low, high in pick(candidates, plan.relapses["later"], unit_of=lambda c: c[0]):
        found = low + DAY * rng.randint(0, (high - low).days)
        relapse(unit, found, later_again(found))
    # Rectified in 2017, found operating again in 2018: a re-rectification counts in 2018.
    for unit in pick(closed_2017, plan.relapses["carried"]):
        found = april + DAY * rng.randint(0, (datetime.date(YEAR, 11, 30) - april).days)
        relapse(unit, found, later_again(found))


def rectified_on_day(units, day):
    """SPEC 2 rectified(d) over plans: units with an in-year period holding on ``day``."""
    return sum(
        1
        for unit in units
        for p in unit.periods
        if START <= p.rectified_on <= day and (p.reopened_on is None or p.reopened_on > day)
    )


# --- writing -------------------------------------------------------------------------------------


@dataclass
class SeedSummary:
    campaign: Campaign
    townships: int = 0
    villages: int = 0
    units: int = 0
    rectifications: int = 0
    relapses: int = 0
    inspections: int = 0
    addition: object = None  # demo.addition.AdditionSummary
    users_created: list = field(default_factory=list)
    seconds: float = 0.0


def check_empty():
    """Raise NotEmpty when the demo would clash with what the database holds."""
    if Campaign.objects.filter(slug=CAMPAIGN_SLUG).exists():
        raise NotEmpty(f"整治行动 {CAMPAIGN_SLUG} 已存在")
    clash = Township.objects.filter(name__in=[name for name, _, _ in TOWNSHIPS]).values_list("name", flat=True)
    if clash:
        raise NotEmpty(f"乡镇（街道）已存在：{'、'.join(clash[:5])}")


def seed_demo(*, seed=DEFAULT_SEED, scale=1, batch_size=1000, users=True):
    """Create the demo city, its 2018 campaign, units and demo users in one transaction."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    if not connection.features.can_return_rows_from_bulk_insert:
        raise RuntimeError("seed_demo needs a database that returns primary keys from bulk inserts")
    began = time.perf_counter()
    city = plan_city(seed, scale)
    with transaction.atomic():
        check_empty()
        created = _create_users() if users else []
        admin = get_user_model().objects.filter(username=DEMO_USERS[0].username).first()
        townships = Township.objects.bulk_create(
            Township(name=t.name, kind=t.kind, sort_order=(t.index + 1) * 10) for t in city.townships
        )
        if users:
            _assign_roles(townships)
        villages = Village.objects.bulk_create(
            Village(township=township, name=v.name, kind=v.kind)
            for township, t in zip(townships, city.townships)
            for v in t.villages
        )
        village_ids = {(v.township_id, v.name): v.pk for v in villages}
        campaign = campaign_create(slug=CAMPAIGN_SLUG, year=YEAR, target=city.target)
        TargetRevision.objects.bulk_create(
            TargetRevision(
                campaign=campaign,
                township=township,
                target=target,
                effective_on=day,
                reason="" if day == START else RAISE_REASON,
                created_by=admin,
            )
            for township, t in zip(townships, city.townships)
            for day, target in t.targets
        )
        summary = SeedSummary(campaign=campaign, townships=len(townships), villages=len(villages))
        summary.users_created = created
        facts = addition.Facts()
        for township, plan in zip(townships, city.townships):
            units = plan_township(city, plan)
            ids = [village_ids[(township.pk, v.name)] for v in plan.villages]
            gathered = facts.township(township, plan, units)
            for first in range(0, len(units), batch_size):
                batch = units[first : first + batch_size]
                facts.written(gathered, batch, *_write(township, ids, batch, summary, plan))
        _outlines(townships, city.townships, village_ids)
        if users:
            from demo.inspections import seed_inspections

            summary.inspections = seed_inspections(campaign, seed=seed)
        # The 加法 year (indicators, parks, entries, freed land, demonstrations): after the
        # inspections, which it leaves as they were.
        summary.addition = addition.seed_addition(campaign, facts, seed=seed, scale=scale)
    # The planner's statistics for the tables just filled, as autovacuum would gather them a minute
    # later (or never, where it is off): planned on empty tables' estimates, the register's first
    # page joins every open rectification to every unit (seconds instead of milliseconds).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    summary.seconds = time.perf_counter() - began
    return summary


# The demo city's map (the map page; docs/map.md): townships on a grid of MAP_STEP degrees around
# MAP_CENTRE, each cut into cells for its villages; a unit stands in its village's cell, placed by a
# digest of its name (not by the seeded draws, which stay as they were). Outlines are those boxes.
MAP_CENTRE = (120.70, 28.00)  # lng, lat
MAP_STEP = 0.1
WATCHERS = ("张建国", "李红梅", "王志强", "陈晓燕", "刘海波", "杨丽华", "赵国平", "周春兰")


def _township_box(index, count):
    side = max(1, math.ceil(math.sqrt(count)))
    row, column = divmod(index, side)
    west = MAP_CENTRE[0] + (column - side / 2) * MAP_STEP
    south = MAP_CENTRE[1] + (row - side / 2) * MAP_STEP
    return west, south, west + MAP_STEP, south + MAP_STEP


def _village_box(township_box, index, count):
    west, south, east, north = township_box
    side = max(1, math.ceil(math.sqrt(count)))
    row, column = divmod(index, side)
    width, height = (east - west) / side, (north - south) / side
    return west + column * width, south + row * height, west + (column + 1) * width, south + (row + 1) * height


def _position(box, name):
    digest = zlib.crc32(name.encode())
    west, south, east, north = box
    x, y = (digest % 1000) / 1000, (digest // 1000 % 1000) / 1000
    lng = west + (0.1 + 0.8 * x) * (east - west)
    lat = south + (0.1 + 0.8 * y) * (north - south)
    return Decimal(f"{lng:.6f}"), Decimal(f"{lat:.6f}")


def _ring(box):
    west, south, east, north = (round(v, 6) for v in box)
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


def _outlines(townships, plans, village_ids):
    count = len(plans)
    outlines = []
    for township, plan in zip(townships, plans):
        box = _township_box(plan.index, count)
        outlines.append(_outline(box, township=township))
        for index, village in enumerate(plan.villages):
            inner = _village_box(box, index, len(plan.villages))
            outlines.append(_outline(inner, village_id=village_ids[(township.pk, village.name)]))
    Outline.objects.bulk_create(outlines)


def _outline(box, **place):
    west, south, east, north = box
    return Outline(
        geometry={"type": "Polygon", "coordinates": [_ring(box)]},
        west=west,
        south=south,
        east=east,
        north=north,
        **place,
    )


def _write(township, village_ids, units, summary, plan=None):
    boxes, count = {}, 0
    if plan is not None:
        count = len(plan.villages)
        box = _township_box(plan.index, len(TOWNSHIPS))
        boxes = {i: (i, _village_box(box, i, count)) for i in range(count)}

    def placed(u):
        if u.village not in boxes:
            return {}
        index, box = boxes[u.village]
        lng, lat = _position(box, u.name)
        watcher = WATCHERS[(plan.index * 7 + index) % len(WATCHERS)]
        return {
            "longitude": lng,
            "latitude": lat,
            "watcher_name": watcher,
            "watcher_phone": f"139{plan.index:03d}{index:05d}"[:11],
        }

    rows = Enterprise.objects.bulk_create(
        Enterprise(
            township=township,
            **placed(u),
            village_id=village_ids[u.village],
            name=u.name,
            address=u.address,
            grid=u.grid,
            owner=u.owner,
            phone=u.phone,
            industry=u.industry,
            premises=u.premises,
            credit_code=u.credit_code,
            identified_on=u.identified_on,
            source=u.source,
            status=u.status,
            **dict(zip(DEFECT_FIELDS, u.defects)),
        )
        for u in units
    )
    periods = [(row.pk, p) for row, u in zip(rows, units) for p in u.periods]
    rectifications = Rectification.objects.bulk_create(
        Rectification(
            enterprise_id=pk,
            method=p.method,
            rectified_on=p.rectified_on,
            demolished_m2=p.demolished_m2,
            note=p.note,
            reopened_on=p.reopened_on,
        )
        for pk, p in periods
    )
    relapses = Relapse.objects.bulk_create(
        Relapse(enterprise_id=pk, rectification=r, found_on=p.reopened_on, note=p.relapse_note)
        for (pk, p), r in zip(periods, rectifications)
        if p.reopened_on is not None
    )
    summary.units += len(rows)
    summary.rectifications += len(rectifications)
    summary.relapses += len(relapses)
    return rows, periods, rectifications


def _create_users():
    """The demo logins; an existing account is left as it is (its password is not reset)."""
    User = get_user_model()
    names = [u.username for u in DEMO_USERS]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    new = [u for u in DEMO_USERS if u.username not in existing]
    # Hashing the passwords is a third of the seeding time and releases the GIL: hash side by side.
    with ThreadPoolExecutor(max_workers=len(DEMO_USERS)) as pool:
        hashes = list(pool.map(make_password, [u.password for u in new]))
    User.objects.bulk_create(
        User(
            username=u.username,
            password=hashed,
            first_name=u.display_name,
            is_staff=u.is_superuser,
            is_superuser=u.is_superuser,
        )
        for u, hashed in zip(new, hashes)
    )
    return [u.username for u in new]


def _assign_roles(townships):
    """Give each demo login its role (and township or department) unless it already has one."""
    by_name = {t.name: t for t in townships}
    accounts = get_user_model().objects.filter(username__in=[u.username for u in DEMO_USERS])
    accounts = {user.username: user for user in accounts.prefetch_related("groups")}
    for demo_user in DEMO_USERS:
        user = accounts.get(demo_user.username)
        if user is None or {g.name for g in user.groups.all()} & {r.value for r in Role}:
            continue
        assign_role(
            user,
            demo_user.access_role,
            township=by_name.get(demo_user.township),
            department=demo_user.department,
        )


def fingerprint():
    """A digest of the demo data by natural keys (no ids, no timestamps): same seed, same digest."""
    digest = hashlib.sha256()

    def feed(rows):
        for text in sorted(map(repr, rows)):
            digest.update(text.encode())

    feed(Township.objects.values_list("name", "kind", "sort_order"))
    feed(Village.objects.values_list("township__name", "name", "kind"))
    feed(Campaign.objects.values_list("slug", "name", "year", "start", "end", "target", "band"))
    feed(Milestone.objects.values_list("campaign__slug", "date", "percent"))
    feed(TargetRevision.objects.values_list("campaign__slug", "township__name", "effective_on", "target", "reason"))
    feed(get_user_model().objects.values_list("username", "first_name", "is_staff", "is_superuser"))
    unit_fields = ["name", "address", "village__name", "grid", "credit_code", "owner", "phone", "industry"]
    unit_fields += ["premises", *DEFECT_FIELDS, "identified_on", "source", "status"]
    period_fields = ["rectified_on", "method", "demolished_m2", "note", "reopened_on", "relapses__found_on"]
    period_fields += ["relapses__note"]
    # The 加法 year (demo/addition.py).
    feed(Indicator.objects.values_list("campaign__slug", "key", "name", "unit", "target", "weight", "own_milestones"))
    feed(IndicatorTarget.objects.values_list("indicator__key", "township__name", "effective_on", "target", "reason"))
    feed(IndicatorRecord.objects.values_list("indicator__key", "township__name", "name", "date", "amount", "note"))
    feed(Park.objects.values_list("township__name", "name", *PARK_FIELDS))
    feed(
        ParkEntry.objects.values_list(
            "park__name", "enterprise__name", "enterprise__address", "rectification__rectified_on", *ENTRY_FIELDS
        )
    )
    feed(LandParcel.objects.values_list("township__name", "source__name", "source__address", *PARCEL_FIELDS))
    feed(
        Demonstration.objects.values_list(
            "campaign__slug", "township__name", "village__name", "applied_on", "applied_by__username", "checked_on",
            "checked_by__username", "check_note", "designated_on", "designated_by__username",
        )
    )  # fmt: skip
    for township_id, name in sorted(Township.objects.values_list("id", "name"), key=lambda t: t[1]):
        digest.update(name.encode())
        feed(Enterprise.objects.filter(township_id=township_id).values_list(*unit_fields).iterator(chunk_size=2000))
        feed(
            Rectification.objects.filter(enterprise__township_id=township_id)
            .values_list("enterprise__name", "enterprise__address", *period_fields)
            .iterator(chunk_size=2000)
        )
    return digest.hexdigest()
