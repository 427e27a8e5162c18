"""Inspections (督查): the closed loop from a finding to its verified close-off.

- ``Inspection``: a visit of a kind (明察暗访, 随机抽查, 交叉督查, 回头看) to a township, with the units
  checked, the people present, notes and photos. A planned one (``done`` False) is a follow-up a
  serious finding scheduled.
- ``CrossRound`` / ``CrossAssignment``: which township inspects which in a round of cross-inspections
  (never itself, never both ways in one round).
- ``Finding``: what an inspection found on a unit (a missed unit is created in the register first),
  with a deadline (限期整改) and a responsible township; closed off (销号) only when verified by
  someone other than the person who reported it rectified. ``FindingPhoto``: the photos its
  completion (整改完成) was reported with; a completion after the deadline is late (逾期完成).
- ``LookbackDraw`` / ``Lookback``: look-back re-checks of rectified units, drawn at random with a
  recorded seed or scheduled at fixed offsets after the rectification; a shut-down unit's look-back
  is the 两断三清 checklist.
- ``DefectClearance``: one of a unit's four defects cleared and signed off by its department
  (整改提升); the unit counts as rectified when its last flagged defect clears.
- ``Reconciliation`` / ``ReconciliationItem``: the twice-monthly 对账销号 between the city and a
  township, with the confirmed lists kept.
- ``QualitySettings``: what the city sets per campaign (look-back offsets and sample share, the
  demonstration title's clean period, the default deadline).

The rules live in ``inspections/rules.py`` (pure) and the writes in ``inspections/services.py``.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import ExpressionWrapper, F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.models import Campaign, Township
from core.evidence import Captured
from core.history import tracked
from enterprises.models import Defect, Enterprise, Rectification, Relapse, SoftDeletable


def _user(verbose_name, **kwargs):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
        **kwargs,
    )


class Kind(models.TextChoices):
    UNANNOUNCED = "unannounced", _("明察暗访")
    RANDOM = "random", _("随机抽查")
    CROSS = "cross", _("交叉督查")
    LOOKBACK = "lookback", _("回头看")


class QualitySettings(models.Model):
    """The city's settings for inspections and quality figures, one row per campaign."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="quality", verbose_name=_("年度"))
    lookback_offsets = models.CharField(
        _("回头看间隔(天)"), max_length=64, default="30,90,180", help_text=_("整治完成后第几天回头看，用逗号分隔")
    )
    sample_percent = models.PositiveSmallIntegerField(
        _("抽查比例(%)"), default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    sample_minimum = models.PositiveSmallIntegerField(_("每乡镇至少抽查(家)"), default=3)
    clean_days = models.PositiveSmallIntegerField(
        _("零四无示范：无复发天数"), default=90, help_text=_("申报“零四无”示范须连续多少天无死灰复燃")
    )
    deadline_days = models.PositiveSmallIntegerField(_("默认整改期限(天)"), default=15)

    history = tracked()

    class Meta:
        verbose_name = _("督查设置")
        verbose_name_plural = _("督查设置")

    def __str__(self):
        return str(self.campaign)

    @property
    def offsets(self):
        return sorted({int(part) for part in self.lookback_offsets.replace("，", ",").split(",") if part.strip()})


def _round_in_force(day, through=""):
    """A cross round (reached through ``through``) is in force on ``day``: from its first day to its
    last, both inclusive. The one place this rule is written; the querysets below apply it."""
    return Q(**{f"{through}held_on__lte": day, f"{through}ends_on__gte": day})


class CrossRoundQuerySet(models.QuerySet):
    def in_force(self, day):
        """The rounds in force on ``day``."""
        return self.filter(_round_in_force(day))

    def with_in_force(self, day):
        """Each round with ``in_force``: whether it is in force on ``day`` (read in the same query)."""
        return self.annotate(in_force=ExpressionWrapper(_round_in_force(day), output_field=models.BooleanField()))


class CrossRound(models.Model):
    """One round of cross-inspections (交叉督查): its date and the seed its assignment was drawn with."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+", verbose_name=_("年度"))
    name = models.CharField(_("轮次名称"), max_length=100)
    held_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"), help_text=_("督查方在此期间可只读查看被督查方的单位"))
    seed = models.BigIntegerField(_("随机种子"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = _user(_("创建人"))

    objects = CrossRoundQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("交叉督查轮次")
        verbose_name_plural = _("交叉督查轮次")
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("inspections:round", args=[self.pk])


class CrossAssignmentQuerySet(models.QuerySet):
    def in_force(self, day, inspecting):
        """The assignments under which township ``inspecting`` (a Township or its id) inspects on
        ``day``: theirs as the inspecting side, in a round in force that day."""
        return self.filter(_round_in_force(day, "round__"), inspecting=inspecting)


class CrossAssignment(models.Model):
    round = models.ForeignKey(CrossRound, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("轮次"))
    inspecting = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("督查方"))
    inspected = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("被督查方"))

    objects = CrossAssignmentQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("交叉督查安排")
        verbose_name_plural = _("交叉督查安排")
        ordering = ["round", "inspecting__name"]
        constraints = [
            models.CheckConstraint(condition=~Q(inspecting=F("inspected")), name="inspections_cross_not_self"),
            models.UniqueConstraint(fields=["round", "inspected"], name="inspections_cross_once_inspected"),
            models.UniqueConstraint(fields=["round", "inspecting"], name="inspections_cross_once_inspecting"),
        ]

    def __str__(self):
        return f"{self.inspecting} → {self.inspected}"


class CrossAccess(models.Model):
    """A read of another township's data by a cross-inspecting township's staff: who, what, when."""

    assignment = models.ForeignKey(
        CrossAssignment, on_delete=models.PROTECT, related_name="accesses", verbose_name=_("交叉督查安排")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("查看人")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("查看的单位")
    )
    path = models.CharField(_("页面"), max_length=255)
    at = models.DateTimeField(_("查看时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("交叉督查查看记录")
        verbose_name_plural = _("交叉督查查看记录")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.user} {self.path}"


class Inspection(SoftDeletable):
    kind = models.CharField(_("督查方式"), max_length=16, choices=Kind.choices)
    inspected_on = models.DateField(_("督查日期"))
    done = models.BooleanField(_("已实施"), default=True, help_text=_("未实施的是严重问题安排的跟踪督查"))
    team = models.CharField(_("督查组/部门"), max_length=100)
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("被督查乡镇(街道)")
    )
    assignment = models.ForeignKey(
        CrossAssignment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspections",
        verbose_name=_("交叉督查安排"),
    )
    units = models.ManyToManyField(Enterprise, blank=True, related_name="inspections", verbose_name=_("检查的单位"))
    present = models.CharField(_("参加人员"), max_length=255, blank=True)
    notes = models.TextField(_("督查情况"), blank=True)
    follow_up_of = models.ForeignKey(
        "Finding",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("跟踪的问题"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = _user(_("录入人"))

    history = tracked(m2m_fields=[units])

    class Meta:
        verbose_name = _("督查")
        verbose_name_plural = _("督查")
        ordering = ["-inspected_on", "-id"]
        indexes = [models.Index(fields=["township", "inspected_on"], name="inspection_township_day_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.township} {self.inspected_on:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("inspections:detail", args=[self.pk])


def inspection_photo_upload_to(instance, filename):
    now = timezone.localtime()
    return f"evidence/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.jpg"


class InspectionPhoto(Captured):
    """A site photo of an inspection; stored re-encoded, without EXIF (enterprises/photos.py)."""

    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="photos", verbose_name=_("督查"))
    image = models.FileField(_("照片"), upload_to=inspection_photo_upload_to, max_length=255)
    width = models.PositiveIntegerField(_("宽度(像素)"))
    height = models.PositiveIntegerField(_("高度(像素)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    uploaded_by = _user(_("上传人"))

    history = tracked()

    class Meta:
        verbose_name = _("督查照片")
        verbose_name_plural = _("督查照片")
        ordering = ["inspection", "id"]

    def __str__(self):
        return f"{self.inspection} #{self.pk}"


class FindingKind(models.TextChoices):
    MISSED = "missed", _("漏排")
    NOT_DONE = "not_done", _("整治不到位")
    RELAPSE = "relapse", _("死灰复燃")
    OTHER = "other", _("其他")


class Severity(models.TextChoices):
    NORMAL = "normal", _("一般")
    SERIOUS = "serious", _("严重")


class FindingState(models.TextChoices):
    OPEN = "open", _("待整改")
    RECTIFIED = "rectified", _("已整改待验收")
    CLOSED = "closed", _("已销号")


class FindingQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def unresolved(self):
        """Not closed off yet (待整改 or 已整改待验收)."""
        return self.alive().exclude(state=FindingState.CLOSED)

    def overdue(self, today):
        """Not rectified by the deadline: still 待整改 after the deadline day."""
        return self.alive().filter(state=FindingState.OPEN, deadline__lt=today)

    def completed_late(self):
        """Reported rectified (and maybe closed off since) on a day after the deadline (逾期完成)."""
        return self.alive().filter(LATE_COMPLETION)


# 逾期完成: the completion's date is after the deadline (the deadline day itself is in time). Derived
# from the two dates the finding carries, never stored, so it cannot disagree with them; a completion
# sent back by verification clears its date, and the next report is judged on its own.
LATE_COMPLETION = Q(rectified_on__gt=F("deadline"))


class Finding(SoftDeletable):
    inspection = models.ForeignKey(
        Inspection, on_delete=models.PROTECT, related_name="findings", verbose_name=_("督查")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="findings", verbose_name=_("四无单位")
    )
    township = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("责任乡镇(街道)"))
    kind = models.CharField(_("问题类型"), max_length=16, choices=FindingKind.choices)
    severity = models.CharField(_("严重程度"), max_length=16, choices=Severity.choices, default=Severity.NORMAL)
    description = models.TextField(_("问题描述"))
    found_on = models.DateField(_("发现日期"))
    deadline = models.DateField(_("整改期限"))
    relapse = models.OneToOneField(
        Relapse, on_delete=models.PROTECT, null=True, blank=True, related_name="finding", verbose_name=_("死灰复燃记录")
    )
    state = models.CharField(_("状态"), max_length=16, choices=FindingState.choices, default=FindingState.OPEN)
    rectified_on = models.DateField(_("整改完成日期"), null=True, blank=True)
    rectified_by = _user(_("整改人"))
    rectification_note = models.TextField(_("整改情况"), blank=True)
    closed_on = models.DateField(_("销号日期"), null=True, blank=True)
    closed_by = _user(_("验收人"))
    verification_note = models.TextField(_("验收意见"), blank=True)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = _user(_("录入人"))

    objects = FindingQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("督查问题")
        verbose_name_plural = _("督查问题")
        ordering = ["deadline", "id"]
        indexes = [
            models.Index(fields=["township", "state", "deadline"], name="finding_township_state_idx"),
            # A township's first overdue findings on a day (reports/counts/overdue.py), read in deadline
            # order and stopped after the few shown: ~1 ms instead of reading all its findings. The
            # dates that decide "overdue on a day" follow as key columns (SQLite has no INCLUDE), so
            # a township's count is answered from the index alone (10 ms to ~2 ms at a million units).
            models.Index(
                fields=["township", "deadline", "id", "found_on", "rectified_on", "closed_on"],
                condition=Q(deleted_at__isnull=True),
                name="finding_overdue_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(deadline__gte=F("found_on")), name="inspections_finding_deadline"),
            # 谁整改、谁不能自验: the verifier is never the person who reported it rectified.
            models.CheckConstraint(
                condition=Q(closed_by__isnull=True) | Q(rectified_by__isnull=True) | ~Q(closed_by=F("rectified_by")),
                name="inspections_finding_not_self_verified",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}：{self.enterprise}"

    def get_absolute_url(self):
        return reverse("inspections:finding", args=[self.pk])

    def is_overdue(self, today):
        return self.deleted_at is None and self.state == FindingState.OPEN and self.deadline < today

    @property
    def completed_late(self):
        """逾期完成: reported rectified on a day after the deadline (LATE_COMPLETION, in Python)."""
        return self.rectified_on is not None and self.rectified_on > self.deadline

    @property
    def days_late(self):
        return (self.rectified_on - self.deadline).days if self.completed_late else 0


def finding_photo_upload_to(instance, filename):
    """Beside the rectification photos, under a generated name (enterprises.models.evidence_upload_to)."""
    now = timezone.localtime()
    return f"evidence/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.jpg"


class FindingPhotoQuerySet(models.QuerySet):
    def current(self):
        """The evidence of the finding's standing completion report: not sent back by a verification."""
        return self.filter(returned_at__isnull=True)


class FindingPhoto(Captured):
    """A site photo proving a finding rectified (整改完成), taken like a rectification's evidence:
    checked, re-encoded and stored without EXIF (enterprises/photos.py), served through a scoped view.

    A verification that does not pass sends the completion back: its photos stay, marked returned,
    and the next report brings its own. Close-off (销号) needs photos of the standing report.
    """

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="photos", verbose_name=_("督查问题"))
    image = models.FileField(_("照片"), upload_to=finding_photo_upload_to, max_length=255)
    width = models.PositiveIntegerField(_("宽度(像素)"))
    height = models.PositiveIntegerField(_("高度(像素)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    uploaded_by = _user(_("上传人"))
    returned_at = models.DateTimeField(_("退回时间"), null=True, blank=True)

    objects = FindingPhotoQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("整改照片")
        verbose_name_plural = _("整改照片")
        ordering = ["finding", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["finding", "sha256"],
                condition=Q(returned_at__isnull=True),
                name="inspections_finding_photo_once_per_report",
            ),
        ]

    def __str__(self):
        return f"{self.finding} #{self.pk}"


class LookbackDraw(models.Model):
    """A random sample of a township's rectified units for look-back checks, reproducible from its seed."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+", verbose_name=_("年度"))
    township = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("乡镇(街道)"))
    as_of = models.DateField(_("抽取基准日"))
    seed = models.BigIntegerField(_("随机种子"))
    percent = models.PositiveSmallIntegerField(_("抽查比例(%)"))
    minimum = models.PositiveSmallIntegerField(_("至少抽查(家)"))
    population = models.PositiveIntegerField(_("可抽单位数"))
    # The ids drawn from, as they were: the draw can be redone from them whatever changes later.
    population_ids = models.JSONField(_("可抽单位"), default=list, blank=True)
    drawn_at = models.DateTimeField(_("抽取时间"), auto_now_add=True)
    drawn_by = _user(_("抽取人"))

    history = tracked()

    class Meta:
        verbose_name = _("回头看抽样")
        verbose_name_plural = _("回头看抽样")
        ordering = ["-drawn_at", "-id"]

    def __str__(self):
        return f"{self.township} {self.as_of:%Y-%m-%d} #{self.seed}"

    def get_absolute_url(self):
        return reverse("inspections:draw", args=[self.pk])


class LookbackResult(models.TextChoices):
    PENDING = "pending", _("待检查")
    PASSED = "passed", _("通过")
    FAILED = "failed", _("整治不到位")
    RELAPSED = "relapsed", _("死灰复燃")


CHECKLIST_FIELDS = ("water_cut", "power_cut", "materials_cleared", "equipment_cleared", "products_cleared")


class Lookback(models.Model):
    """One look-back re-check of a rectified period: drawn in a sample or due at an offset."""

    rectification = models.ForeignKey(
        Rectification, on_delete=models.PROTECT, related_name="lookbacks", verbose_name=_("整治记录")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="lookbacks", verbose_name=_("四无单位")
    )
    township = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("乡镇(街道)"))
    draw = models.ForeignKey(
        LookbackDraw, on_delete=models.PROTECT, null=True, blank=True, related_name="lookbacks", verbose_name=_("抽样")
    )
    offset_days = models.PositiveSmallIntegerField(_("整治后天数"), null=True, blank=True)
    due_on = models.DateField(_("应检查日期"))
    result = models.CharField(
        _("检查结果"), max_length=16, choices=LookbackResult.choices, default=LookbackResult.PENDING
    )
    checked_on = models.DateField(_("检查日期"), null=True, blank=True)
    checked_by = _user(_("检查人"))
    inspection = models.ForeignKey(
        Inspection, on_delete=models.PROTECT, null=True, blank=True, related_name="lookbacks", verbose_name=_("督查")
    )
    # 两断三清 (for a unit that was shut down): water and power cut; materials, equipment, products cleared.
    water_cut = models.BooleanField(_("断水"), null=True)
    power_cut = models.BooleanField(_("断电"), null=True)
    materials_cleared = models.BooleanField(_("原料清除"), null=True)
    equipment_cleared = models.BooleanField(_("设备清除"), null=True)
    products_cleared = models.BooleanField(_("产品清除"), null=True)
    note = models.TextField(_("检查情况"), blank=True)

    history = tracked()

    class Meta:
        verbose_name = _("回头看")
        verbose_name_plural = _("回头看")
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rectification", "offset_days"],
                condition=Q(offset_days__isnull=False),
                name="inspections_lookback_once_per_offset",
            ),
            models.UniqueConstraint(
                fields=["draw", "rectification"],
                condition=Q(draw__isnull=False),
                name="inspections_lookback_once_per_draw",
            ),
        ]
        indexes = [
            models.Index(fields=["township", "result", "checked_on"], name="lookback_township_result_idx"),
            # The look-backs falling due, in due order: a township's (its home) and every township's
            # (the inspectors' home, the daily reminders), read a page at a time (reports/home.py).
            models.Index(fields=["township", "result", "due_on", "id"], name="lookback_township_due_idx"),
            models.Index(fields=["result", "due_on", "id"], name="lookback_due_idx"),
        ]

    def __str__(self):
        return f"{self.enterprise} {self.due_on:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("inspections:lookback", args=[self.pk])


class LookbackPhoto(Captured):
    """A site photo of a look-back check (两断三清 seen on site): checked, re-encoded and stored
    without EXIF (enterprises/photos.py), its place and time kept on the row (core/evidence.py),
    served through a scoped view."""

    lookback = models.ForeignKey(Lookback, on_delete=models.PROTECT, related_name="photos", verbose_name=_("回头看"))
    image = models.FileField(_("照片"), upload_to=finding_photo_upload_to, max_length=255)
    width = models.PositiveIntegerField(_("宽度(像素)"))
    height = models.PositiveIntegerField(_("高度(像素)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    uploaded_by = _user(_("上传人"))

    history = tracked()

    class Meta:
        verbose_name = _("回头看照片")
        verbose_name_plural = _("回头看照片")
        ordering = ["lookback", "id"]
        constraints = [
            models.UniqueConstraint(fields=["lookback", "sha256"], name="inspections_lookback_photo_once"),
        ]

    def __str__(self):
        return f"{self.lookback} #{self.pk}"


class DefectClearance(SoftDeletable):
    """整改提升 defect by defect: one flagged defect cleared, signed off by its department."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, related_name="clearances", verbose_name=_("四无单位")
    )
    defect = models.CharField(_("四无情形"), max_length=32, choices=Defect.choices)
    cleared_on = models.DateField(_("消除日期"))
    department = models.CharField(_("签字部门"), max_length=100)
    signed_by = models.CharField(_("签字人"), max_length=50)
    note = models.TextField(_("说明"), blank=True)
    rectification = models.ForeignKey(
        Rectification,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clearances",
        verbose_name=_("形成的整治记录"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = _user(_("录入人"))

    history = tracked()

    class Meta:
        verbose_name = _("单项销号")
        verbose_name_plural = _("单项销号")
        ordering = ["enterprise", "cleared_on", "id"]
        constraints = [
            # A defect clears once per rectified period: the open one has rectification still empty.
            models.UniqueConstraint(
                fields=["enterprise", "defect"],
                condition=Q(rectification__isnull=True, deleted_at__isnull=True),
                name="inspections_clearance_once_pending",
            ),
        ]

    def __str__(self):
        return f"{self.enterprise} {self.get_defect_display()}"


class Reconciliation(models.Model):
    """对账销号 of one township for one half-month: the lists both sides confirmed, kept as confirmed."""

    township = models.ForeignKey(Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("乡镇(街道)"))
    period_start = models.DateField(_("对账期"), help_text=_("每月1日或16日"))
    snapshot = models.JSONField(_("系统清单"), default=dict)
    township_confirmed_at = models.DateTimeField(_("乡镇确认时间"), null=True, blank=True)
    township_confirmed_by = _user(_("乡镇确认人"))
    city_confirmed_at = models.DateTimeField(_("市级确认时间"), null=True, blank=True)
    city_confirmed_by = _user(_("市级确认人"))
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)

    history = tracked()

    class Meta:
        verbose_name = _("对账销号")
        verbose_name_plural = _("对账销号")
        ordering = ["-period_start", "township__name"]
        constraints = [
            models.UniqueConstraint(fields=["township", "period_start"], name="inspections_reconciliation_once"),
        ]

    def __str__(self):
        return f"{self.township} {self.period_start:%Y-%m-%d}"

    def get_absolute_url(self):
        return reverse("inspections:reconciliation", args=[self.pk])

    @property
    def confirmed(self):
        return self.township_confirmed_at is not None and self.city_confirmed_at is not None


class ReconciliationItem(models.Model):
    """A difference between the system's list and the township's: resolved with a note."""

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="items", verbose_name=_("对账销号")
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("四无单位")
    )
    finding = models.ForeignKey(
        Finding, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("督查问题")
    )
    description = models.TextField(_("差异说明"))
    raised_by = _user(_("提出人"))
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolved_by = _user(_("处理人"))
    resolution = models.TextField(_("处理结果"), blank=True)

    history = tracked()

    class Meta:
        verbose_name = _("对账差异")
        verbose_name_plural = _("对账差异")
        ordering = ["reconciliation", "id"]

    def __str__(self):
        return self.description[:40]
