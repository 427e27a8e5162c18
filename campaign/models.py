"""The campaign itself: townships and villages, the annual campaign, its milestones and targets.

Quarterly (or any other) targets are never stored: they are derived from a milestone's cumulative
percent and the annual target in force on the milestone's date (reports.rules.required_count).
"""

import datetime
import re
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history import register

from core.evidence import Captured
from core.history import AuditFields, tracked

DEFAULT_MILESTONES = (
    (3, 31, Decimal("30")),
    (6, 30, Decimal("60")),
    (9, 30, Decimal("80")),
    (12, 31, Decimal("100")),
)


class Township(models.Model):
    class Kind(models.TextChoices):
        XIANG = "xiang", _("乡")
        ZHEN = "zhen", _("镇")
        JIEDAO = "jiedao", _("街道")

    name = models.CharField(_("名称"), max_length=64, unique=True)
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices, default=Kind.ZHEN)
    sort_order = models.PositiveIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = tracked()

    class Meta:
        verbose_name = _("乡镇(街道)")
        verbose_name_plural = _("乡镇(街道)")
        ordering = ["sort_order", "name"]

    def __str__(self):
        return self.name

    @staticmethod
    def kind_from_name(name):
        """Guess 乡/镇/街道 from the official name, which always ends with its kind."""
        if name.endswith("街道") or name.endswith("街道办事处"):
            return Township.Kind.JIEDAO
        if name.endswith("乡"):
            return Township.Kind.XIANG
        return Township.Kind.ZHEN


class Village(models.Model):
    class Kind(models.TextChoices):
        VILLAGE = "village", _("村")
        COMMUNITY = "community", _("社区")

    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="villages", verbose_name=_("乡镇(街道)")
    )
    name = models.CharField(_("名称"), max_length=64)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices, default=Kind.VILLAGE)

    history = tracked()

    class Meta:
        verbose_name = _("村(社区)")
        verbose_name_plural = _("村(社区)")
        ordering = ["township", "name"]
        constraints = [models.UniqueConstraint(fields=["township", "name"], name="%(app_label)s_%(class)s_unique_name")]

    def __str__(self):
        return f"{self.township.name}{self.name}"

    @staticmethod
    def kind_from_name(name):
        return Village.Kind.COMMUNITY if name.endswith("社区") else Village.Kind.VILLAGE


class CampaignQuerySet(models.QuerySet):
    def current_for(self, day):
        """The campaign whose year holds ``day``, else the most recent one that started before."""
        inside = self.filter(start__lte=day, end__gte=day).order_by("-start").first()
        return inside or self.filter(start__lte=day).order_by("-start").first() or self.first()


class Campaign(models.Model):
    slug = models.SlugField(_("代号"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    year = models.PositiveSmallIntegerField(_("年度"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"))
    target = models.PositiveIntegerField(_("全市年度任务"))
    band = models.DecimalField(
        _("黄色预警区间(百分点)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    # The 赛马 scorecard (docs/scorecard.md): the weight of the 四无 indicator ``rectified`` among the
    # campaign's indicators, and the rate above which an overshoot counts no more in a score.
    rectified_weight = models.DecimalField(
        _("四无整治指标权重"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    score_cap = models.DecimalField(
        _("计分封顶(%)"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("120"),
        validators=[MinValueValidator(Decimal("1"))],
    )
    # Freed land (腾退土地, docs/parks.md): a parcel freed and not supplied for this many days is idle
    # (闲置); a parcel in production whose 亩均税收 (万元/亩) is below the standard is listed for 退出 review.
    idle_days = models.PositiveSmallIntegerField(_("闲置预警天数"), default=180, validators=[MinValueValidator(1)])
    tax_standard_per_mu = models.DecimalField(
        _("亩均税收标准(万元/亩)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = CampaignQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("整治行动")
        verbose_name_plural = _("整治行动")
        ordering = ["-year", "slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")), name="%(app_label)s_%(class)s_end_after_start"
            ),
            models.CheckConstraint(condition=Q(band__gte=0), name="%(app_label)s_%(class)s_band_positive"),
            models.CheckConstraint(
                condition=Q(rectified_weight__gt=0), name="%(app_label)s_%(class)s_rectified_weight_positive"
            ),
            models.CheckConstraint(condition=Q(score_cap__gt=0), name="%(app_label)s_%(class)s_score_cap_positive"),
            models.CheckConstraint(condition=Q(idle_days__gt=0), name="%(app_label)s_%(class)s_idle_days_positive"),
            models.CheckConstraint(
                condition=Q(tax_standard_per_mu__isnull=True) | Q(tax_standard_per_mu__gte=0),
                name="%(app_label)s_%(class)s_tax_standard_not_negative",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("reports:dashboard") + f"?campaign={self.slug}"

    def clamp(self, day):
        """The campaign day nearest ``day``: reports default to today, or the last day once over."""
        return min(max(day, self.start), self.end)

    def contains(self, day):
        return self.start <= day <= self.end

    @classmethod
    def default_milestones(cls, year):
        return [(datetime.date(year, m, d), pct) for m, d, pct in DEFAULT_MILESTONES]


class Milestone(models.Model):
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("整治行动")
    )
    date = models.DateField(_("节点日期"))
    percent = models.DecimalField(
        _("累计完成比例(%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )

    history = tracked()

    class Meta:
        verbose_name = _("节点目标")
        verbose_name_plural = _("节点目标")
        ordering = ["campaign", "date"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "date"], name="%(app_label)s_%(class)s_unique_date"),
            models.CheckConstraint(
                condition=Q(percent__gt=0, percent__lte=100), name="%(app_label)s_%(class)s_percent_range"
            ),
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.percent}%"


class TargetRevisionQuerySet(models.QuerySet):
    def in_force_on(self, day):
        return self.filter(effective_on__lte=day)


class TargetRevision(models.Model):
    """An annual target from its effective date on; ``township`` empty means the city's own target.

    The city target starts as ``Campaign.target``; a city revision raises it from its date.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="target_revisions", verbose_name=_("整治行动")
    )
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="target_revisions",
        verbose_name=_("乡镇(街道)"),
    )
    target = models.PositiveIntegerField(_("年度任务"))
    effective_on = models.DateField(_("生效日期"))
    reason = models.CharField(_("调整原因"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    objects = TargetRevisionQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("年度任务")
        verbose_name_plural = _("年度任务")
        ordering = ["campaign", "township", "effective_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "township", "effective_on"],
                condition=Q(township__isnull=False),
                name="%(app_label)s_%(class)s_unique_township_day",
            ),
            models.UniqueConstraint(
                fields=["campaign", "effective_on"],
                condition=Q(township__isnull=True),
                name="%(app_label)s_%(class)s_unique_city_day",
            ),
        ]

    def __str__(self):
        who = self.township.name if self.township_id else _("全市")
        return f"{who} {self.target} ({self.effective_on:%Y-%m-%d})"


# --- indicators (指标) and the 赛马 scorecard (SPEC 5; docs/scorecard.md) -------------------------

RECTIFIED = "rectified"  # the 四无 count of SPEC 2: every campaign's first indicator, not a row here


class BuiltIn(models.TextChoices):
    """Indicators whose values the product counts from its own records (SPEC 5)."""

    PARKS_STARTED = "parks_started", _("小微园开工个数")
    PARK_STARTED_MU = "park_started_mu", _("小微园开工面积")
    PARK_COMPLETED_M2 = "park_completed_m2", _("小微园竣工面积")
    PARK_ENTRIES = "park_entries", _("入园企业数")
    INDIVIDUAL_TO_COMPANY = "individual_to_company", _("个转企入园数")
    LAND_FREED_MU = "land_freed_mu", _("腾退土地面积")
    ZERO_SIWU_VILLAGES = "zero_siwu_villages", _("零四无示范村")
    ZERO_SIWU_TOWNSHIPS = "zero_siwu_townships", _("零四无示范乡镇")


BUILT_IN_UNITS = {
    BuiltIn.PARKS_STARTED: _("个"),
    BuiltIn.PARK_STARTED_MU: _("亩"),
    BuiltIn.PARK_COMPLETED_M2: _("平方米"),
    BuiltIn.PARK_ENTRIES: _("家"),
    BuiltIn.INDIVIDUAL_TO_COMPANY: _("家"),
    BuiltIn.LAND_FREED_MU: _("亩"),
    BuiltIn.ZERO_SIWU_VILLAGES: _("个"),
    BuiltIn.ZERO_SIWU_TOWNSHIPS: _("个"),
}

INDICATOR_KEY = RegexValidator(r"^[a-z][a-z0-9_]{0,63}$", _("指标代号只能由小写字母、数字和下划线组成，并以字母开头"))


class Indicator(models.Model):
    """A figure with an annual city target that townships are ranked on (SPEC 5), beside ``rectified``.

    A built-in key (``BuiltIn``) takes its values from the product's own records; any other key
    from the records imported or entered for it (``IndicatorRecord``). Its township targets are
    ``IndicatorTarget`` revisions; its milestones the campaign's unless ``own_milestones``.
    """

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="indicators", verbose_name=_("整治行动")
    )
    key = models.CharField(_("指标代号"), max_length=64, validators=[INDICATOR_KEY])
    name = models.CharField(_("指标名称"), max_length=64)
    unit = models.CharField(_("计量单位"), max_length=16)
    target = models.PositiveIntegerField(_("全市年度目标"))
    weight = models.DecimalField(
        _("权重"), max_digits=6, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal("0.01"))]
    )
    own_milestones = models.BooleanField(_("单独设置节点目标"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("创建人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    history = tracked()

    class Meta:
        verbose_name = _("考核指标")
        verbose_name_plural = _("考核指标")
        ordering = ["campaign", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="%(app_label)s_%(class)s_unique_key"),
            models.CheckConstraint(condition=Q(weight__gt=0), name="%(app_label)s_%(class)s_weight_positive"),
            models.CheckConstraint(condition=~Q(key=RECTIFIED), name="%(app_label)s_%(class)s_not_rectified"),
        ]

    def __str__(self):
        return self.name

    @property
    def built_in(self):
        return self.key in BuiltIn.values


class IndicatorMilestone(models.Model):
    """A milestone of an indicator created with its own (``Indicator.own_milestones``)."""

    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("考核指标")
    )
    date = models.DateField(_("节点日期"))
    percent = models.DecimalField(
        _("累计完成比例(%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )

    history = tracked()

    class Meta:
        verbose_name = _("指标节点目标")
        verbose_name_plural = _("指标节点目标")
        ordering = ["indicator", "date"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "date"], name="%(app_label)s_%(class)s_unique_date"),
            models.CheckConstraint(
                condition=Q(percent__gt=0, percent__lte=100), name="%(app_label)s_%(class)s_percent_range"
            ),
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.percent}%"


class IndicatorTarget(models.Model):
    """A township's annual target of an indicator from its effective date on (``township`` empty: the
    city's, which starts as ``Indicator.target``), revised like ``TargetRevision``."""

    indicator = models.ForeignKey(
        Indicator, on_delete=models.CASCADE, related_name="targets", verbose_name=_("考核指标")
    )
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="indicator_targets",
        verbose_name=_("乡镇(街道)"),
    )
    target = models.PositiveIntegerField(_("年度目标"))
    effective_on = models.DateField(_("生效日期"))
    reason = models.CharField(_("调整原因"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    history = tracked()

    class Meta:
        verbose_name = _("指标年度目标")
        verbose_name_plural = _("指标年度目标")
        ordering = ["indicator", "township", "effective_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "township", "effective_on"],
                condition=Q(township__isnull=False),
                name="%(app_label)s_%(class)s_unique_township_day",
            ),
            models.UniqueConstraint(
                fields=["indicator", "effective_on"],
                condition=Q(township__isnull=True),
                name="%(app_label)s_%(class)s_unique_city_day",
            ),
        ]

    def __str__(self):
        who = self.township.name if self.township_id else _("全市")
        return f"{self.indicator} {who} {self.target} ({self.effective_on:%Y-%m-%d})"


class IndicatorRecord(models.Model):
    """One counted item of an indicator that is not built in: ``amount`` on ``date`` for a township
    (a project, an enterprise, a batch). The same record is the same township and name (SPEC 5)."""

    indicator = models.ForeignKey(
        Indicator, on_delete=models.PROTECT, related_name="records", verbose_name=_("考核指标")
    )
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="indicator_records", verbose_name=_("乡镇(街道)")
    )
    name = models.CharField(_("名称"), max_length=200)
    date = models.DateField(_("日期"))
    amount = models.DecimalField(
        _("数量"), max_digits=14, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(Decimal("0"))]
    )
    note = models.CharField(_("说明"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    history = tracked()

    class Meta:
        verbose_name = _("指标记录")
        verbose_name_plural = _("指标记录")
        ordering = ["indicator", "-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "township", "name"], name="%(app_label)s_%(class)s_unique_name"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="%(app_label)s_%(class)s_amount_not_negative"),
        ]
        # Covering (the amount a trailing key column: SQLite has no INCLUDE): the scorecard sums a
        # township's records by indicator and day with an index-only scan (7 ms for 34,000 records on
        # PostgreSQL, 29 ms reading the rows).
        indexes = [models.Index(fields=["indicator", "township", "date", "amount"], name="indicator_record_day_idx")]

    def __str__(self):
        return f"{self.name} {self.amount} ({self.date:%Y-%m-%d})"


NEGATIVE_LIST_SEPARATORS = re.compile(r"[,，、;；\n\r]+")


class Park(models.Model):
    """A small-micro enterprise park project (小微园) of a township, from planning to completion.
    The same park is the same township and name (SPEC 5, ``import_parks``)."""

    township = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="parks", verbose_name=_("乡镇(街道)"))
    name = models.CharField(_("园区名称"), max_length=128)
    planned_mu = models.DecimalField(
        _("规划用地(亩)"), max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    started_on = models.DateField(_("开工日期"), null=True, blank=True)
    started_mu = models.DecimalField(
        _("开工面积(亩)"), max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    completed_on = models.DateField(_("竣工日期"), null=True, blank=True)
    completed_m2 = models.DecimalField(
        _("竣工面积(平方米)"), max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    capacity = models.PositiveIntegerField(_("入驻容量(家)"), null=True, blank=True)
    operator = models.CharField(_("运营主体"), max_length=128, blank=True)
    # Industries the park refuses (负面清单), names separated by commas or 、; and the least 亩均税收
    # an entry must declare (准入门槛). The entry rules are enterprises/parks.py's (docs/parks.md).
    negative_list = models.TextField(_("负面清单"), blank=True)
    min_tax_per_mu = models.DecimalField(
        _("准入门槛：亩均税收(万元/亩)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    history = tracked()

    class Meta:
        verbose_name = _("小微园")
        verbose_name_plural = _("小微园")
        ordering = ["township", "name"]
        constraints = [
            models.UniqueConstraint(fields=["township", "name"], name="%(app_label)s_%(class)s_unique_name"),
            models.CheckConstraint(
                condition=Q(started_on__isnull=True) | Q(started_mu__isnull=False),
                name="%(app_label)s_%(class)s_started_with_area",
            ),
            models.CheckConstraint(
                condition=Q(completed_on__isnull=True) | (Q(completed_m2__isnull=False) & Q(started_on__isnull=False)),
                name="%(app_label)s_%(class)s_completed_with_area_after_start",
            ),
            models.CheckConstraint(
                condition=Q(completed_on__isnull=True) | Q(completed_on__gte=models.F("started_on")),
                name="%(app_label)s_%(class)s_completed_not_before_start",
            ),
        ]

    def __str__(self):
        return self.name

    def refused_industries(self) -> list[str]:
        """The negative list as names: split at commas (half- or full-width), 、, semicolons and lines."""
        return [name for name in (part.strip() for part in NEGATIVE_LIST_SEPARATORS.split(self.negative_list)) if name]


def park_photo_upload_to(instance, filename):
    """A generated name, as for the register's evidence photos: the uploaded file name is never kept."""
    now = timezone.localtime()
    return f"parks/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.jpg"


class ParkStagePhoto(Captured):
    """A photo proving a park's stage (开工 started, 竣工 completed): stored re-encoded without EXIF
    (enterprises/photos.py ``clean_photos``) under a generated name, and served to signed-in readers
    of the park only (never from a public media URL)."""

    class Stage(models.TextChoices):
        STARTED = "started", _("开工")
        COMPLETED = "completed", _("竣工")

    park = models.ForeignKey(Park, on_delete=models.PROTECT, related_name="stage_photos", verbose_name=_("小微园"))
    stage = models.CharField(_("阶段"), max_length=16, choices=Stage.choices)
    image = models.FileField(_("照片"), upload_to=park_photo_upload_to, max_length=255)
    width = models.PositiveIntegerField(_("宽度(像素)"))
    height = models.PositiveIntegerField(_("高度(像素)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("上传人"),
    )

    history = tracked()

    class Meta:
        verbose_name = _("小微园阶段照片")
        verbose_name_plural = _("小微园阶段照片")
        ordering = ["park", "stage", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["park", "stage", "sha256"], name="%(app_label)s_%(class)s_unique_per_stage"
            ),
        ]

    def __str__(self):
        return f"{self.park} {self.get_stage_display()} #{self.pk}"


class Demonstration(models.Model):
    """A 零四无 demonstration being created: a township (``village`` empty) or one of its villages,
    from the application (申报) through the check (验收) to the designation (命名), each dated and
    signed by who did it. Counted by ``zero_siwu_townships`` / ``zero_siwu_villages`` on its
    designation date."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="demonstrations", verbose_name=_("整治行动")
    )
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="demonstrations", verbose_name=_("乡镇(街道)")
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="demonstrations",
        verbose_name=_("村(社区)"),
    )
    applied_on = models.DateField(_("申报日期"))
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申报人"),
    )
    checked_on = models.DateField(_("验收日期"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("验收人"),
    )
    check_note = models.CharField(_("验收意见"), max_length=500, blank=True)
    designated_on = models.DateField(_("命名日期"), null=True, blank=True)
    designated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("命名人"),
    )

    history = tracked()

    class Meta:
        verbose_name = _("零四无示范创建")
        verbose_name_plural = _("零四无示范创建")
        ordering = ["campaign", "township", "village"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "township"],
                condition=Q(village__isnull=True),
                name="%(app_label)s_%(class)s_unique_township",
            ),
            models.UniqueConstraint(
                fields=["campaign", "village"],
                condition=Q(village__isnull=False),
                name="%(app_label)s_%(class)s_unique_village",
            ),
            models.CheckConstraint(
                condition=Q(checked_on__isnull=True) | Q(checked_on__gte=models.F("applied_on")),
                name="%(app_label)s_%(class)s_checked_after_applied",
            ),
            models.CheckConstraint(
                condition=Q(designated_on__isnull=True)
                | (Q(checked_on__isnull=False) & Q(designated_on__gte=models.F("checked_on"))),
                name="%(app_label)s_%(class)s_designated_after_checked",
            ),
        ]

    def __str__(self):
        return str(self.village) if self.village_id else self.township.name

    @property
    def is_village(self):
        return self.village_id is not None


class UserProfile(models.Model):
    """Ties a user to the township (township staff) or department (inspectors) they work for.

    The role itself is the user's group (core.access.Role); this row holds what the role is of.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile", verbose_name=_("用户")
    )
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("所属乡镇(街道)"),
    )
    department = models.CharField(_("所属部门"), max_length=64, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)

    history = tracked()

    class Meta:
        verbose_name = _("用户资料")
        verbose_name_plural = _("用户资料")

    def __str__(self):
        return str(self.user)


# Account changes (activation, names, staff flags) are audited too; the password hash and the
# login stamp are not history worth keeping.
register(
    User,
    app="campaign",
    table_name="campaign_historicaluser",
    bases=[AuditFields],
    excluded_fields=["password", "last_login"],
)


class Outline(models.Model):
    """The outline of a township or of a village: a GeoJSON geometry (Polygon or MultiPolygon, in
    WGS-84 degrees like the units' positions), loaded by ``import_outlines`` so that the map page can
    draw the city without a tile server (docs/map.md). Kept apart from Township and Village so that
    the pages that list them never read the geometry. ``west``/``south``/``east``/``north`` bound it."""

    township = models.OneToOneField(
        Township,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="outline",
        verbose_name=_("乡镇(街道)"),
    )
    village = models.OneToOneField(
        Village, on_delete=models.CASCADE, null=True, blank=True, related_name="outline", verbose_name=_("村(社区)")
    )
    geometry = models.JSONField(_("边界"))
    west = models.FloatField(_("西界经度"))
    south = models.FloatField(_("南界纬度"))
    east = models.FloatField(_("东界经度"))
    north = models.FloatField(_("北界纬度"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = tracked()

    class Meta:
        verbose_name = _("行政区边界")
        verbose_name_plural = _("行政区边界")
        constraints = [
            models.CheckConstraint(
                condition=Q(township__isnull=False, village__isnull=True)
                | Q(township__isnull=True, village__isnull=False),
                name="%(app_label)s_%(class)s_township_or_village",
            ),
        ]

    def __str__(self):
        return str(self.township or self.village)
