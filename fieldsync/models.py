"""What the offline queue needs on the server: each submission key a user's phone sent, and its outcome.

A row is written in the same transaction as the writes of the view it guarded (fieldsync/middleware.py),
so a row exists exactly when the submission was accepted; it is never written for a refused one.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SubmissionKey(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("提交人")
    )
    # Made by the phone (crypto.randomUUID) when the form was first submitted; unique per user only,
    # so another user's key never answers with this user's outcome.
    key = models.CharField(_("提交标识"), max_length=64)
    path = models.CharField(_("提交地址"), max_length=255)
    status = models.PositiveSmallIntegerField(_("响应状态"))
    location = models.CharField(_("跳转地址"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("离线提交记录")
        verbose_name_plural = _("离线提交记录")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="%(app_label)s_%(class)s_one_per_user"),
        ]

    def __str__(self):
        return f"{self.user_id}:{self.key}"
