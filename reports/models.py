"""Weekly notices (一周一通报), interviews (约谈) and quarterly assessments (季度督考).

An issued ``Notice`` and a frozen ``Assessment`` are archives: the figures they were made from
(``figures``, the JSON that every renderer reads) and the generated files with their SHA-256. They
have no update path: later corrections of the register never change them (docs/notices.md).
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.models import Campaign, Township
from core.history import tracked

DEFAULT_OFFICE = "示范市“四无”整治工作领导小组办公室"
FORMATS = ("docx", "xlsx", "html")


def _user(verbose_name, **kwargs):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=verbose_name, **kwargs
    )


def archive_upload_to(instance, filename):
    """A generated name under notices/: the extension of ``filename`` is all that is kept."""
    suffix = filename.rsplit(".", 1)[-1].lower()
    now = timezone.localtime()
    return f"notices/{now:%Y}/{uuid.uuid4().hex}.{suffix}"


def letterhead_upload_to(instance, filename):
    return f"letterheads/{uuid.uuid4().hex}.docx"


def validate_doc_number_format(value):
    """A 文号 pattern may use {year} and {serial} and nothing else, e.g. 瑞四无办〔{year}〕{serial}号."""
    try:
        value.format(year=2018, serial=12)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(
            _("文号格式只能使用 {year}（年度）和 {serial}（期号）两个占位符，例如：瑞四无办〔{year}〕{serial}号")
        ) from exc


class NoticeSettings(models.Model):
    """What the city sets for its notices, one row per campaign (defaults apply without one)."""

    class RedRule(models.TextChoices):
        THIS_WEEK = "this_week", _("本期红色预警即列入")
        TWO_RUNNING = "two_running", _("连续两期红色预警才列入")

    class Dated(models.TextChoices):
        AS_OF = "as_of", _("按通报截至日期落款")
        ISSUED = "issued", _("按发布当天落款")

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="notice_settings", verbose_name=_("整治行动")
    )
    office = models.CharField(_("发文机关"), max_length=100, default=DEFAULT_OFFICE)
    red_rule = models.CharField(_("红色名单规则"), max_length=16, choices=RedRule.choices, default=RedRule.THIS_WEEK)
    late_days = models.PositiveSmallIntegerField(
        _("补录认定天数"),
        default=7,
        validators=[MaxValueValidator(365)],
        help_text=_("录入日期晚于整治完成日期超过此天数的，在通报中列为补录"),
    )
    doc_number_format = models.CharField(
        _("文号格式"),
        max_length=60,
        blank=True,
        validators=[validate_doc_number_format],
        help_text=_("留空则不印文号。可用 {year}（年度）和 {serial}（期号），例如：瑞四无办〔{year}〕{serial}号"),
    )
    dated = models.CharField(
        _("落款日期"),
        max_length=8,
        choices=Dated.choices,
        default=Dated.AS_OF,
        help_text=_("通报（及季度督考）的成文日期：按其截至日期（节点日期），或按实际发布当天"),
    )
    letterhead = models.FileField(
        _("公文模板（.docx）"),
        upload_to=letterhead_upload_to,
        blank=True,
        max_length=255,
        help_text=_("本单位的红头模板（Word 或 WPS 保存的 .docx）：通报正文写入模板，保留其页面设置、页眉页脚和样式"),
    )

    history = tracked()

    class Meta:
        verbose_name = _("通报设置")
        verbose_name_plural = _("通报设置")

    def __str__(self):
        return str(self.campaign)

    @classmethod
    def for_campaign(cls, campaign):
        """The campaign's settings, or the defaults (unsaved) when the city set none."""
        return cls.objects.filter(campaign=campaign).first() or cls(campaign=campaign)

    def doc_number(self, year, serial):
        """The 文号 of notice ``serial`` of ``year``, or "" when the city prints none."""
        return self.doc_number_format.format(year=year, serial=serial) if self.doc_number_format else ""

    def dated_on(self, day, today):
        """The date a document about ``day`` is signed with: that day, or the day it is issued."""
        return day if self.dated == self.Dated.AS_OF else today


class Archived(models.Model):
    """The archive of a generated document: its figures, files and checksums, who froze it and when."""

    issued_at = models.DateTimeField(_("发布时间"), default=timezone.now)
    figures = models.JSONField(_("通报数据"))
    docx = models.FileField(_("Word 文件"), upload_to=archive_upload_to, max_length=255)
    docx_sha256 = models.CharField(_("Word 文件 SHA-256"), max_length=64)
    xlsx = models.FileField(_("Excel 文件"), upload_to=archive_upload_to, max_length=255)
    xlsx_sha256 = models.CharField(_("Excel 文件 SHA-256"), max_length=64)
    html = models.FileField(_("打印页面"), upload_to=archive_upload_to, max_length=255)
    html_sha256 = models.CharField(_("打印页面 SHA-256"), max_length=64)

    class Meta:
        abstract = True

    def stored(self, fmt):
        """(file field, sha256) of one archived format."""
        return getattr(self, fmt), getattr(self, f"{fmt}_sha256")


class Notice(Archived):
    """一周一通报 第N期, as issued. The notice week is the 7 days ending on ``as_of``."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="notices", verbose_name=_("整治行动"))
    serial = models.PositiveIntegerField(_("期号"))
    as_of = models.DateField(_("截至日期"))
    issued_by = _user(_("发布人"))

    history = tracked()

    class Meta:
        verbose_name = _("一周一通报")
        verbose_name_plural = _("一周一通报")
        ordering = ["campaign", "-serial"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "serial"], name="%(app_label)s_%(class)s_unique_serial"),
            models.UniqueConstraint(fields=["campaign", "as_of"], name="%(app_label)s_%(class)s_unique_as_of"),
            models.CheckConstraint(condition=Q(serial__gte=1), name="%(app_label)s_%(class)s_serial_positive"),
        ]

    def __str__(self):
        return _("%(campaign)s 第%(serial)s期") % {"campaign": self.campaign, "serial": self.serial}

    def get_absolute_url(self):
        return reverse("notices:detail", args=[self.pk])


class Interview(models.Model):
    """约谈: a lagging township's head summoned, with the commitments made there."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="+", verbose_name=_("整治行动"))
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="+", verbose_name=_("被约谈乡镇(街道)")
    )
    notice = models.ForeignKey(
        Notice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="interviews",
        verbose_name=_("依据的通报"),
    )
    held_on = models.DateField(_("约谈日期"))
    summoned = models.CharField(_("被约谈人"), max_length=100, help_text=_("姓名及职务，如：镇长 王某某"))
    attendees = models.TextField(_("参加人员"), blank=True)
    notes = models.TextField(_("约谈情况"), blank=True)
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)
    created_by = _user(_("录入人"), null=True, blank=True)

    history = tracked()

    class Meta:
        verbose_name = _("约谈")
        verbose_name_plural = _("约谈")
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return _("约谈%(township)s %(day)s") % {"township": self.township, "day": f"{self.held_on:%Y-%m-%d}"}

    def get_absolute_url(self):
        return reverse("notices:interview", args=[self.pk])


class CommitmentQuerySet(models.QuerySet):
    def unmet_on(self, day):
        """Commitments due before ``day`` and not met by ``day`` (of interviews held by then)."""
        return self.filter(interview__held_on__lte=day, due_on__lt=day).filter(
            Q(met_on__isnull=True) | Q(met_on__gt=day)
        )


class Commitment(models.Model):
    """One commitment made at an interview, followed up until it is met."""

    interview = models.ForeignKey(
        Interview, on_delete=models.CASCADE, related_name="commitments", verbose_name=_("约谈")
    )
    text = models.CharField(_("承诺事项"), max_length=255)
    due_on = models.DateField(_("承诺完成日期"))
    met_on = models.DateField(_("实际完成日期"), null=True, blank=True)
    follow_up = models.TextField(_("跟踪情况"), blank=True)

    objects = CommitmentQuerySet.as_manager()
    history = tracked()

    class Meta:
        verbose_name = _("约谈承诺")
        verbose_name_plural = _("约谈承诺")
        ordering = ["interview", "due_on", "id"]

    def __str__(self):
        return self.text


class Assessment(Archived):
    """季度督考 at one milestone date: who met it, the quarter's ranking, the city's verdict; frozen."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("整治行动")
    )
    milestone_date = models.DateField(_("节点日期"))
    verdict = models.TextField(_("考核意见"))
    issued_by = _user(_("发布人"))

    history = tracked()

    class Meta:
        verbose_name = _("季度督考")
        verbose_name_plural = _("季度督考")
        ordering = ["campaign", "-milestone_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "milestone_date"], name="%(app_label)s_%(class)s_unique_milestone"
            ),
        ]

    def __str__(self):
        return _("%(campaign)s %(day)s 季度督考") % {
            "campaign": self.campaign,
            "day": f"{self.milestone_date:%Y-%m-%d}",
        }

    def get_absolute_url(self):
        return reverse("notices:assessment", args=[self.pk])


class CountsVersion(models.Model):
    """Per township, a value that changes with every change of its maintained counts or findings.

    Database triggers on the count tables (enterprises.UnitDay, PeriodDay) and on the findings set it in the same
    transaction as the change, to a value never used before (a sequence on PostgreSQL, a random
    64-bit number on SQLite), so no two states of the counts, committed or rolled back, share a set
    of versions. reports/counts/cache.py keys its cache of count queries on them (docs/performance.md).
    No foreign key: the triggers may write while a test database is flushed table by table.
    """

    township_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()

    class Meta:
        verbose_name = _("统计版本")
        verbose_name_plural = _("统计版本")

    def __str__(self):
        return f"{self.township_id}: {self.version}"
