"""The unit register: 四无 units, their rectifications and relapses.

A unit's rectified periods are ``Rectification`` rows: each starts on ``rectified_on`` and, when
a relapse re-opens the unit, ends on ``reopened_on`` (a copy of the relapse's date, written in the
same transaction by ``enterprises.services``). Periods of one unit never overlap and at most one
is open-ended, so "rectified as of d" is a single range test per row and the progress engine can
count a whole city in one grouped query (see reports/counts/ and docs/counting.md).
"""

import datetime
import re
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.models import Township, Village
from core.evidence import Captured
from core.history import tracked

from .credit_code import validate_credit_code

_SPACES = re.compile(r"[\s\u3000]+")


def squash_spaces(value):
    """Trim, and fold inner runs of (full- or half-width) spaces into one: the identity key."""
    return _SPACES.sub(" ", str(value or "")).strip()


class SoftDeletable(models.Model):
    """Nothing is hard-deleted from the UI: a deletion records who, when and why, and can be undone."""

    deleted_at = models.DateTimeField(_("删除时间"), null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("删除人"),
    )
    deletion_reason = models.CharField(_("删除原因"), max_length=255, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def is_deleted(self):
        return self.deleted_at is not None


class Defect(models.TextChoices):
    UNLICENSED = "unlicensed", _("无证无照")
    UNSAFE = "unsafe", _("无安全保障")
    NO_LEGAL_PREMISES = "no_legal_premises", _("无合法场所")
    NO_ENV_MEASURES = "no_env_measures", _("无环保措施")


DEFECT_FIELDS = [d.value for d in Defect]


class Source(models.TextChoices):
    SCREENING = "screening", _("排查")
    COMPLAINT = "complaint", _("举报")
    INSPECTION = "inspection", _("督查")


class Status(models.TextChoices):
    OPEN = "open", _("未整治")
    IN_PROGRESS = "in_progress", _("整治中")
    RECTIFIED = "rectified", _("已整治")


class Method(models.TextChoices):
    CLOSED = "closed", _("关停取缔")
    RELOCATED = "relocated", _("搬迁入园")
    UPGRADED = "upgraded", _("整改提升")
    DEMOLISHED = "demolished", _("拆除")


class EnterpriseQuerySet(models.QuerySet):
    def alive(self):
        """Units not soft-deleted: the only ones lists and reports ever see."""
        return self.filter(deleted_at__isnull=True)

    def open_on(self, day):
        """SPEC 2 open(d): alive units identified on or before ``day`` with no rectified period
        holding on ``day`` (whenever it began)."""
        held = Rectification.objects.counting_on(day).values("enterprise_id")
        return self.alive().filter(identified_on__lte=day).exclude(id__in=held)

    def for_register(self):
        return self.alive().select_related("township", "village")


# Columns of a unit that only the database writes (triggers, migration 0014).
MAINTAINED = ("current_method", "current_rectified_on")


class Enterprise(SoftDeletable):
    name = models.CharField(_("单位名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, validators=[validate_credit_code])
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="enterprises", verbose_name=_("乡镇(街道)")
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enterprises",
        verbose_name=_("村(社区)"),
    )
    grid = models.CharField(_("网格"), max_length=64, blank=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    owner = models.CharField(_("负责人"), max_length=64, blank=True)
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    industry = models.CharField(_("行业"), max_length=64, blank=True)
    premises = models.CharField(_("场所类型"), max_length=64, blank=True)
    # Where the unit is, in WGS-84 / CGCS2000 degrees: what a phone's GPS and a photo's EXIF give and
    # what 天地图 draws. Maps on GCJ-02 tiles convert for display only (core/geo.py, docs/map.md).
    longitude = models.DecimalField(
        _("经度"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))],
    )
    latitude = models.DecimalField(
        _("纬度"),
        max_digits=8,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))],
    )
    # 盯梢人: the person answerable for keeping watch on the unit, often a village cadre without an account.
    watcher_name = models.CharField(_("盯梢人"), max_length=64, blank=True)
    watcher_phone = models.CharField(_("盯梢人电话"), max_length=32, blank=True)
    unlicensed = models.BooleanField(_("无证无照"), default=False)
    unsafe = models.BooleanField(_("无安全保障"), default=False)
    no_legal_premises = models.BooleanField(_("无合法场所"), default=False)
    no_env_measures = models.BooleanField(_("无环保措施"), default=False)
    identified_on = models.DateField(_("排查日期"))
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.SCREENING)
    status = models.CharField(_("整治状态"), max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    # Optimistic concurrency: an edit saves only if the row is still at the version it was read at.
    version = models.PositiveIntegerField(_("版本"), default=1, editable=False)
    # The unit's current rectification (the period no relapse re-opened; at most one), copied here by
    # database triggers on the rectifications in the same transaction as every write to them
    # (migration 0014), so that the register's 整治方式 and 整治完成日期 filters are a column of the
    # unit, read in the register's order. Never written by the application: ``save`` leaves them out.
    current_method = models.CharField(  # noqa: DJ001 - NULL: no current rectification, not a method
        _("当前整治方式"), max_length=16, choices=Method.choices, null=True, blank=True, editable=False
    )
    current_rectified_on = models.DateField(_("当前整治完成日期"), null=True, blank=True, editable=False)

    objects = EnterpriseQuerySet.as_manager()
    history = tracked(excluded_fields=["current_method", "current_rectified_on"])

    class Meta:
        verbose_name = _("四无单位")
        verbose_name_plural = _("四无单位")
        ordering = ["-identified_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unlicensed=True) | Q(unsafe=True) | Q(no_legal_premises=True) | Q(no_env_measures=True),
                name="%(app_label)s_%(class)s_at_least_one_defect",
            ),
            models.UniqueConstraint(
                fields=["credit_code"],
                condition=~Q(credit_code="") & Q(deleted_at__isnull=True),
                name="%(app_label)s_%(class)s_unique_credit_code",
            ),
            # SPEC 3: without a credit code, a unit is its township, name and address (stored
            # trimmed by save() and by the import, so the columns are the identity key). Two imports
            # or forms at once cannot register one unit twice; see enterprises/services.py.
            models.UniqueConstraint(
                fields=["township", "name", "address"],
                condition=Q(credit_code="") & Q(deleted_at__isnull=True),
                name="%(app_label)s_%(class)s_unique_identity",
            ),
            # A position is both coordinates or neither, each in its range (docs/map.md).
            models.CheckConstraint(
                condition=Q(longitude__isnull=True, latitude__isnull=True)
                | Q(
                    longitude__isnull=False,
                    latitude__isnull=False,
                    longitude__gte=-180,
                    longitude__lte=180,
                    latitude__gte=-90,
                    latitude__lte=90,
                ),
                name="%(app_label)s_%(class)s_position_both_in_range",
            ),
        ]
        indexes = [
            models.Index(fields=["township", "name", "address"], name="enterprise_identity_idx"),
            models.Index(fields=["township", "identified_on"], name="enterprise_township_day_idx"),
            # The register's keyset order (enterprises/pagination.py), city-wide and for one township.
            models.Index(
                fields=["-identified_on", "-id"], condition=Q(deleted_at__isnull=True), name="enterprise_register_idx"
            ),
            models.Index(
                fields=["township", "-identified_on", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="enterprise_register_town_idx",
            ),
            # And for one village (a village cadre's register): without it, a village's page walked the
            # city's order past every other village's units (18 ms at a million units, then 0.2 ms).
            models.Index(
                fields=["village", "-identified_on", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="enterprise_register_vill_idx",
            ),
            # The same order within a 整治状态, city-wide and for one township: a status filter (with
            # or without other filters) reads its own units in order, and one with none reads nothing.
            models.Index(
                fields=["status", "-identified_on", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="enterprise_register_status_idx",
            ),
            models.Index(
                fields=["township", "status", "-identified_on", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="enterprise_register_ts_idx",
            ),
            # The register's 整治方式 filter read in the register's order, and 整治完成日期 counted from an
            # index (the register's order serves that one: filtersets.filter_rectified_to).
            models.Index(
                fields=["current_method", "-identified_on", "-id"],
                condition=Q(deleted_at__isnull=True),
                name="enterprise_current_method_idx",
            ),
            models.Index(
                fields=["current_rectified_on"],
                condition=Q(deleted_at__isnull=True),
                name="enterprise_current_day_idx",
            ),
            # The map's view (a box of longitude and latitude), city-wide and in one township
            # (reports/maps.py): covering what its grid reads, so neither database visits the units'
            # rows (a range over most of the city through a narrower index is a visit per unit).
            models.Index(
                fields=["longitude", "latitude", "status", "id"],
                condition=Q(deleted_at__isnull=True, longitude__isnull=False),
                name="enterprise_position_idx",
            ),
            models.Index(
                fields=["township", "longitude", "latitude", "status", "id"],
                condition=Q(deleted_at__isnull=True, longitude__isnull=False),
                name="enterprise_town_position_idx",
            ),
            # The values in use offered by the register's 行业 and 场所类型 filters (filtersets.values_in_use).
            *(
                models.Index(fields=fields, condition=Q(deleted_at__isnull=True), name=f"enterprise_{name}_idx")
                for name, fields in (
                    ("industry", ["industry"]),
                    ("town_industry", ["township", "industry"]),
                    ("premises", ["premises"]),
                    ("town_premises", ["township", "premises"]),
                )
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # The identity rule (SPEC 3) matches on trimmed text, so store it trimmed.
        self.name = squash_spaces(self.name)
        self.address = squash_spaces(self.address)
        self.credit_code = (self.credit_code or "").strip().upper()
        if (
            not self._state.adding
            and not args
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
        ):
            # An update writes every column but those the triggers keep: this copy of them may be older.
            kwargs["update_fields"] = [
                f.name for f in self._meta.concrete_fields if not f.primary_key and f.name not in MAINTAINED
            ]
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("enterprises:detail", args=[self.pk])

    @property
    def defects(self):
        return [d for d in Defect if getattr(self, d.value)]


def holding_on(day, via=""):
    """The rule "a rectified period holds on ``day``" (SPEC 2): not deleted, completed on or before
    ``day`` and not re-opened by a relapse on or before it. ``via`` reaches the periods through a
    relation ("rectifications__" from a unit): every count of rectified or open units uses this Q,
    directly (RectificationQuerySet.counting_on, which EnterpriseQuerySet.open_on reads) or through
    the unit (the village breakdown, reports/dashboard.py), so the pages cannot disagree on what holds."""
    return Q(**{f"{via}deleted_at__isnull": True, f"{via}rectified_on__lte": day}) & (
        Q(**{f"{via}reopened_on__isnull": True}) | Q(**{f"{via}reopened_on__gt": day})
    )


class RectificationQuerySet(models.QuerySet):
    def alive(self):
        """Rectifications that count: neither they nor their unit are deleted."""
        return self.filter(deleted_at__isnull=True, enterprise__deleted_at__isnull=True)

    def counting_on(self, day):
        """Rectified periods that hold on ``day``: started on or before it and not yet re-opened."""
        return self.filter(holding_on(day))


class Rectification(SoftDeletable):
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="rectifications", verbose_name=_("四无单位")
    )
    method = models.CharField(_("整治方式"), max_length=16, choices=Method.choices)
    rectified_on = models.DateField(_("整治完成日期"))
    demolished_m2 = models.DecimalField(
        _("拆除面积(㎡)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    note = models.TextField(_("备注"), blank=True)
    reopened_on = models.DateField(_("复发日期"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )

    objects = RectificationQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("整治记录")
        verbose_name_plural = _("整治记录")
        ordering = ["enterprise", "rectified_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(demolished_m2__gte=0), name="%(app_label)s_%(class)s_area_not_negative"),
            models.CheckConstraint(
                condition=Q(reopened_on__isnull=True) | Q(reopened_on__gt=models.F("rectified_on")),
                name="%(app_label)s_%(class)s_reopened_after_rectified",
            ),
            models.UniqueConstraint(
                fields=["enterprise"],
                condition=Q(reopened_on__isnull=True, deleted_at__isnull=True),
                name="%(app_label)s_%(class)s_one_open_period",
            ),
        ]
        indexes = [
            models.Index(fields=["rectified_on"], name="rectification_day_idx"),
            models.Index(fields=["reopened_on"], name="rectification_reopened_idx"),
        ]

    def __str__(self):
        return f"{self.enterprise} {self.get_method_display()} {self.rectified_on:%Y-%m-%d}"


class RelapseQuerySet(models.QuerySet):
    def found_between(self, first, last):
        """死灰复燃 that count, found in ``[first, last]``: neither they nor their unit are deleted.

        The one rule for "relapses in a period": the quality figures and 零四无 eligibility both use it.
        """
        return self.filter(deleted_at__isnull=True, enterprise__deleted_at__isnull=True, found_on__range=(first, last))


class Relapse(SoftDeletable):
    """死灰复燃: a rectified unit found operating again; it re-opens the unit from ``found_on``."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="relapses", verbose_name=_("四无单位")
    )
    rectification = models.ForeignKey(
        Rectification,
        on_delete=models.PROTECT,
        related_name="relapses",
        verbose_name=_("被推翻的整治记录"),
    )
    found_on = models.DateField(_("发现日期"))
    note = models.TextField(_("情况说明"), blank=True)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )

    objects = RelapseQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("死灰复燃")
        verbose_name_plural = _("死灰复燃")
        ordering = ["enterprise", "found_on", "id"]
        constraints = [
            # One standing relapse per rectified period; a withdrawn one leaves room for a new one.
            models.UniqueConstraint(
                fields=["rectification"],
                condition=Q(deleted_at__isnull=True),
                name="%(app_label)s_%(class)s_one_per_period",
            ),
        ]

    def __str__(self):
        return f"{self.enterprise} {self.found_on:%Y-%m-%d}"


def evidence_upload_to(instance, filename):
    """A generated name: the uploader's file name (which may hold a person's name) is never kept."""
    now = timezone.localtime()
    return f"evidence/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.jpg"


class RectificationPhoto(Captured):
    """A site photo proving a rectification; stored re-encoded, without EXIF (see enterprises/photos.py)."""

    rectification = models.ForeignKey(
        Rectification, on_delete=models.PROTECT, related_name="photos", verbose_name=_("整治记录")
    )
    image = models.FileField(_("照片"), upload_to=evidence_upload_to, max_length=255)
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
        verbose_name = _("整治照片")
        verbose_name_plural = _("整治照片")
        ordering = ["rectification", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rectification", "sha256"], name="%(app_label)s_%(class)s_unique_per_rectification"
            ),
        ]

    def __str__(self):
        return f"{self.rectification} #{self.pk}"


# --- counts maintained by the database (triggers declared in reports/counts/tables.py) ----------

NOT_REOPENED = datetime.date(9999, 12, 31)  # PeriodDay.ended of a period not re-opened


# --- the 加法 side: entries into small-micro parks and freed land (SPEC 5; docs/parks.md) ----------


class ParkEntry(SoftDeletable):
    """An enterprise moving into a park (入园) on ``entered_on``, and leaving it on ``left_on`` if it
    does. A unit rectified by 搬迁入园 names the park it moved to: its entry is recorded with that
    rectification (``rectification``), once. ``individual_to_company``: an individual business
    (个体工商户) that entered as a company (个转企); ``company_form``: entered as a company (公司制)."""

    park = models.ForeignKey(
        "campaign.Park", on_delete=models.PROTECT, related_name="entries", verbose_name=_("小微园")
    )
    enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="park_entries",
        verbose_name=_("四无单位"),
    )
    rectification = models.OneToOneField(
        Rectification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="park_entry",
        verbose_name=_("搬迁入园整治记录"),
    )
    name = models.CharField(_("企业名称"), max_length=200)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, blank=True, validators=[validate_credit_code])
    industry = models.CharField(_("行业"), max_length=64, blank=True)
    entered_on = models.DateField(_("入园日期"))
    left_on = models.DateField(_("退园日期"), null=True, blank=True)
    individual_to_company = models.BooleanField(_("个转企"), default=False)
    company_form = models.BooleanField(_("公司制"), default=True)
    tech_sme = models.BooleanField(_("科技型中小企业"), default=False)
    # The 亩均税收 (万元/亩) the enterprise declared on entry, held against the park's 准入门槛; and the
    # reason recorded for an entry let in despite a rule (a city admin's exception to the negative
    # list or the threshold, or anyone's reason for entering a full park). enterprises/parks.py.
    declared_tax_per_mu = models.DecimalField(
        _("申报亩均税收(万元/亩)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    exception_reason = models.CharField(_("例外准入理由"), max_length=500, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
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
        verbose_name = _("入园企业")
        verbose_name_plural = _("入园企业")
        ordering = ["park", "-entered_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("entered_on")),
                name="%(app_label)s_%(class)s_left_after_entered",
            ),
            models.CheckConstraint(
                condition=Q(individual_to_company=False) | Q(company_form=True),
                name="%(app_label)s_%(class)s_individual_to_company_is_a_company",
            ),
        ]
        indexes = [
            models.Index(fields=["park", "entered_on"], name="park_entry_day_idx"),
            # Who is in a park on a day, counted per park (the parks page, the scorecard's entries): an
            # index-only scan of the alive entries (covering: trailing key columns, as SQLite has no
            # INCLUDE).
            models.Index(
                fields=["park", "entered_on", "left_on", "company_form", "individual_to_company"],
                condition=Q(deleted_at__isnull=True),
                name="park_entry_in_park_idx",
            ),
        ]

    def __str__(self):
        return f"{self.name} → {self.park}"


class LandParcel(SoftDeletable):
    """Land vacated by demolition or relocation (腾退土地), in 亩, through its stages: 腾退 freed →
    供地 supplied → 开工 started → 投产 in production → 退出 exit, each dated when reached, in order."""

    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="land_parcels", verbose_name=_("乡镇(街道)")
    )
    name = models.CharField(_("地块名称"), max_length=200)
    area_mu = models.DecimalField(
        _("面积(亩)"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    source = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="freed_parcels",
        verbose_name=_("原四无单位"),
    )
    freed_on = models.DateField(_("腾退日期"))
    supplied_on = models.DateField(_("供地日期"), null=True, blank=True)
    started_on = models.DateField(_("开工日期"), null=True, blank=True)
    producing_on = models.DateField(_("投产日期"), null=True, blank=True)
    exited_on = models.DateField(_("退出日期"), null=True, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
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
        verbose_name = _("腾退土地")
        verbose_name_plural = _("腾退土地")
        ordering = ["township", "-freed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["township", "name"],
                condition=Q(deleted_at__isnull=True),
                name="%(app_label)s_%(class)s_unique_name",
            ),
            models.CheckConstraint(condition=Q(area_mu__gt=0), name="%(app_label)s_%(class)s_area_positive"),
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{later}__isnull": True})
                    | (Q(**{f"{earlier}__isnull": False}) & Q(**{f"{later}__gte": models.F(earlier)})),
                    name=f"%(app_label)s_%(class)s_{later}_after_{earlier}",
                )
                for earlier, later in (
                    ("freed_on", "supplied_on"),
                    ("supplied_on", "started_on"),
                    ("started_on", "producing_on"),
                )
            ),
            models.CheckConstraint(
                condition=Q(exited_on__isnull=True) | Q(exited_on__gte=models.F("freed_on")),
                name="%(app_label)s_%(class)s_exited_after_freed",
            ),
        ]
        indexes = [models.Index(fields=["township", "freed_on"], name="land_parcel_day_idx")]

    def __str__(self):
        return self.name


class TaxReturn(models.Model):
    """A year's tax (万元) of a park entry or of a freed parcel, with the land (亩) it was earned on:
    its 亩均税收 is ``tax_10k_yuan / land_mu`` rounded half-up to 2 decimals (SPEC 5). One per year of
    each; exactly one of ``entry`` and ``parcel`` is set."""

    entry = models.ForeignKey(
        ParkEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tax_returns",
        verbose_name=_("入园企业"),
    )
    parcel = models.ForeignKey(
        LandParcel,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tax_returns",
        verbose_name=_("腾退土地"),
    )
    year = models.PositiveSmallIntegerField(_("年度"), validators=[MinValueValidator(2000)])
    tax_10k_yuan = models.DecimalField(
        _("税收(万元)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    land_mu = models.DecimalField(
        _("用地(亩)"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
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
        verbose_name = _("亩均税收")
        verbose_name_plural = _("亩均税收")
        ordering = ["-year", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(entry__isnull=False, parcel__isnull=True) | Q(entry__isnull=True, parcel__isnull=False),
                name="%(app_label)s_%(class)s_entry_or_parcel",
            ),
            models.UniqueConstraint(
                fields=["entry", "year"], condition=Q(entry__isnull=False), name="%(app_label)s_%(class)s_entry_year"
            ),
            models.UniqueConstraint(
                fields=["parcel", "year"],
                condition=Q(parcel__isnull=False),
                name="%(app_label)s_%(class)s_parcel_year",
            ),
            models.CheckConstraint(condition=Q(tax_10k_yuan__gte=0), name="%(app_label)s_%(class)s_tax_not_negative"),
            models.CheckConstraint(condition=Q(land_mu__gt=0), name="%(app_label)s_%(class)s_land_positive"),
        ]

    def __str__(self):
        return f"{self.year} {self.tax_10k_yuan}/{self.land_mu}"


class UnitDay(models.Model):
    """Alive units of a township identified on a day. Written only by database triggers."""

    township = models.ForeignKey(Township, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    day = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["township", "day"], name="%(app_label)s_%(class)s_key")]

    def __str__(self):
        return f"{self.township_id} {self.day} {self.n}"


class PeriodDay(models.Model):
    """Alive rectified periods of alive units of a township, by start and end day. Written only by triggers.

    ``ended`` is the re-opening day, or NOT_REOPENED; ``area`` is the demolished m² in hundredths.
    """

    township = models.ForeignKey(Township, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    started = models.DateField()
    ended = models.DateField()
    n = models.IntegerField(default=0)
    area = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["township", "started", "ended"], name="%(app_label)s_%(class)s_key")
        ]

    def __str__(self):
        return f"{self.township_id} {self.started}–{self.ended} {self.n}"


NO_VILLAGE = 0  # VillageDay/VillagePeriodDay.village_id of units with no village (no village has id 0)


class VillageDay(models.Model):
    """Alive units of a village of a township identified on a day. Written only by database triggers.

    ``village_id`` is the unit's village, or NO_VILLAGE: a sentinel rather than NULL, so that the
    triggers' upserts (ON CONFLICT on the key) match the row of the units with no village too.
    """

    township = models.ForeignKey(Township, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    village_id = models.BigIntegerField()
    day = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["township", "village_id", "day"], name="%(app_label)s_%(class)s_key")
        ]

    def __str__(self):
        return f"{self.township_id}/{self.village_id} {self.day} {self.n}"


class VillagePeriodDay(models.Model):
    """Alive rectified periods of alive units of a village of a township. Written only by triggers.

    ``started`` is the period's start, ``ended`` its re-opening day or NOT_REOPENED, and ``since``
    the later of its start and its unit's identification day: the first day on which the period
    counts for a unit the village breakdown counts (a unit identified by that day).
    ``village_id`` as in VillageDay (NO_VILLAGE for none).
    """

    township = models.ForeignKey(Township, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    village_id = models.BigIntegerField()
    started = models.DateField()
    since = models.DateField()
    ended = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["township", "village_id", "started", "since", "ended"], name="%(app_label)s_%(class)s_key"
            )
        ]

    def __str__(self):
        return f"{self.township_id}/{self.village_id} {self.started}({self.since})–{self.ended} {self.n}"


class UnitStatusQuerySet(models.QuerySet):
    def totals(self, townships=None, statuses=None):
        """Alive units by status, {status: n} for every status (a few rows, one query).

        ``townships``: township ids to count (None: all); ``statuses``: the statuses to count (None:
        all; the others read 0).
        """
        rows = self
        if townships is not None:
            rows = rows.filter(township_id__in=townships)
        if statuses is not None:
            rows = rows.filter(status__in=statuses)
        found = dict(rows.order_by().values_list("status").annotate(total=models.Sum("n")))
        return {status: int(found.get(status) or 0) for status in Status.values}


class UnitStatus(models.Model):
    """Alive units of a township in a status (整治状态). Written only by database triggers.

    The register's totals when nothing but township and status narrows it (``objects.totals``; the
    triggers are declared in reports/counts/tables.py).
    """

    township = models.ForeignKey(Township, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices)
    n = models.IntegerField(default=0)

    objects = UnitStatusQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["township", "status"], name="%(app_label)s_%(class)s_key")]

    def __str__(self):
        return f"{self.township_id} {self.status} {self.n}"


def import_upload_to(instance, filename):
    """A generated name: the uploader's file name is kept in ``file_name``, never on disk."""
    now = timezone.localtime()
    suffix = ".csv" if filename.lower().endswith(".csv") else ".xlsx"
    return f"imports/{now:%Y}/{now:%m}/{uuid.uuid4().hex}{suffix}"


class ImportBatch(models.Model):
    """One uploaded screening list: who, when, the original file, its checksum, what it changed."""

    class State(models.TextChoices):
        PREVIEWED = "previewed", _("待确认")
        APPLIED = "applied", _("已导入")
        FAILED = "failed", _("导入失败")

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("乡镇街道"),
        help_text=_("上传人所属乡镇（街道）；市级上传为空"),
    )
    file = models.FileField(_("原始文件"), upload_to=import_upload_to, max_length=255)
    file_name = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    size = models.PositiveIntegerField(_("文件大小(字节)"))
    status = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.PREVIEWED)
    rows = models.PositiveIntegerField(_("数据行数"), default=0)
    created = models.PositiveIntegerField(_("新增单位"), default=0)
    updated = models.PositiveIntegerField(_("更新单位"), default=0)
    unchanged = models.PositiveIntegerField(_("不变单位"), default=0)
    summary = models.JSONField(_("变更摘要"), default=dict, blank=True)
    # The checked plan between preview and confirmation (importing.dump_plan); cleared once applied.
    plan = models.BinaryField(_("待确认的导入计划"), null=True, blank=True, editable=False)
    applied_at = models.DateTimeField(_("导入时间"), null=True, blank=True)
    failure = models.TextField(_("失败原因"), blank=True)

    class Meta:
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return f"{self.file_name} ({self.uploaded_at:%Y-%m-%d %H:%M})"

    def get_absolute_url(self):
        return reverse("imports:preview", args=[self.pk])
