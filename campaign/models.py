"""The campaign itself: townships and villages, the annual campaign, its milestones and targets.

Quarterly (or any other) targets are never stored: they are derived from a milestone's cumulative
percent and the annual target in force on the milestone's date (reports.rules.required_count).
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import User
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history import register

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
