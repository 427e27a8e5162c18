"""The outbox (docs/notify.md).

- ``Message``: what happened (an event of a kind, a text, a link), written in the transaction of the
  event itself by ``notify.outbox.enqueue``; its ``key`` makes a reminder computed twice one message.
- ``Delivery``: the message for one recipient on one channel, sent by the worker (``notify.worker``);
  unique per (message, recipient, channel), with its own idempotency key that travels with each send.
- ``Attempt``: every try at a delivery: when, outcome, error text, HTTP status.
- ``RobotConfig``: a group robot's webhook and secret, for a township or (township empty) the city.
- ``Preference`` / ``QuietHours``: what a user receives, on which channel, and when robots and e-mail
  keep quiet.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaign.models import Township


class Event(models.TextChoices):
    FINDING_NEW = "finding_new", _("新的督查问题")
    FINDING_DUE = "finding_due", _("整改期限临近")
    FINDING_OVERDUE = "finding_overdue", _("整改逾期")
    LOOKBACK_DUE = "lookback_due", _("回头看到期")
    COMMITMENT_DUE = "commitment_due", _("约谈承诺临近到期")
    COMMITMENT_OVERDUE = "commitment_overdue", _("约谈承诺逾期")
    NOTICE_DRAFT = "notice_draft", _("周通报草稿待审核")


class Message(models.Model):
    event = models.CharField(_("事件"), max_length=32)
    key = models.CharField(
        _("去重键"), max_length=200, null=True, blank=True, unique=True, help_text=_("同一事件只提醒一次")
    )
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    link = models.CharField(_("链接"), max_length=300, blank=True)
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("乡镇(街道)")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title


class State(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENDING = "sending", _("发送中")
    SENT = "sent", _("已送达")
    DEAD = "dead", _("发送失败")


class Delivery(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("消息"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("接收人")
    )
    channel = models.CharField(_("渠道"), max_length=32)
    idempotency_key = models.CharField(_("幂等键"), max_length=64, unique=True)
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, default=State.PENDING)
    due_at = models.DateTimeField(_("计划发送时间"))
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    # Who holds it while sending, and until when: a worker that dies leaves the lease to expire.
    claim = models.CharField(_("领取标记"), max_length=64, blank=True)
    lease_until = models.DateTimeField(_("领取期限"), null=True, blank=True)
    sent_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("投递")
        verbose_name_plural = _("投递")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "channel"], name="notify_delivery_once"),
        ]
        indexes = [
            # The worker's claim: due deliveries not sent yet, oldest first.
            models.Index(
                fields=["due_at", "id"],
                condition=Q(state__in=["pending", "sending"]),
                name="notify_delivery_due_idx",
            ),
            # The bell: a user's unread in-product messages.
            models.Index(
                fields=["user", "channel", "read_at"],
                name="notify_delivery_inbox_idx",
            ),
        ]

    def __str__(self):
        return f"{self.channel} → {self.user_id}: {self.message_id}"


class Outcome(models.TextChoices):
    STARTED = "started", _("发送中")
    SENT = "sent", _("成功")
    FAILED = "failed", _("失败")
    INTERRUPTED = "interrupted", _("中断")


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField(_("第几次"))
    worker = models.CharField(_("发送进程"), max_length=64)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices, default=Outcome.STARTED)
    http_status = models.PositiveSmallIntegerField(_("HTTP状态码"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("发送尝试")
        verbose_name_plural = _("发送尝试")
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="notify_attempt_once_per_number"),
        ]

    def __str__(self):
        return f"{self.delivery_id}#{self.number} {self.outcome}"


class RobotConfig(models.Model):
    """A group robot (钉钉/浙政钉, 企业微信) of a township, or of the city when ``township`` is empty."""

    channel = models.CharField(_("渠道"), max_length=32)
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("乡镇(街道)"),
        help_text=_("不选为市级群"),
    )
    webhook = models.URLField(_("Webhook地址"), max_length=500)
    secret = models.CharField(_("加签密钥"), max_length=200, blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("群机器人")
        verbose_name_plural = _("群机器人")
        ordering = ["channel", "township__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "township"], condition=Q(township__isnull=False), name="notify_robot_once"
            ),
            models.UniqueConstraint(
                fields=["channel"], condition=Q(township__isnull=True), name="notify_robot_once_city"
            ),
        ]

    def __str__(self):
        return f"{self.channel} {self.township or _('市级')}"


class Preference(models.Model):
    """One user's choice for one event on one channel; without a row the channel's default holds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(_("事件"), max_length=32, choices=Event.choices)
    channel = models.CharField(_("渠道"), max_length=32)
    enabled = models.BooleanField(_("接收"))

    class Meta:
        verbose_name = _("提醒设置")
        verbose_name_plural = _("提醒设置")
        constraints = [
            models.UniqueConstraint(fields=["user", "event", "channel"], name="notify_preference_once"),
        ]

    def __str__(self):
        return f"{self.user_id} {self.event} {self.channel} {self.enabled}"


class QuietHours(models.Model):
    """When a user's robot and e-mail messages wait (start to end, local time; may span midnight)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start = models.TimeField(_("免打扰开始"))
    end = models.TimeField(_("免打扰结束"))

    class Meta:
        verbose_name = _("免打扰时段")
        verbose_name_plural = _("免打扰时段")
        constraints = [
            models.CheckConstraint(condition=~Q(start=models.F("end")), name="notify_quiet_hours_not_empty"),
        ]

    def __str__(self):
        return f"{self.user_id} {self.start}-{self.end}"


class JobRun(models.Model):
    """One run of a daily job by the scheduler (notify/scheduler.py): the row claims the day, so a job
    runs once a day however many servers run the scheduler, and a missed run is caught up on start."""

    job = models.CharField(_("任务"), max_length=64)
    day = models.DateField(_("日期"))
    worker = models.CharField(_("运行进程"), max_length=64)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    ok = models.BooleanField(_("成功"), null=True)
    output = models.TextField(_("输出"), blank=True)

    class Meta:
        verbose_name = _("定时任务运行")
        verbose_name_plural = _("定时任务运行")
        ordering = ["-day", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "day"], name="notify_jobrun_once_a_day")]

    def __str__(self):
        return f"{self.job} {self.day}"
