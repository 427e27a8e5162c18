"""Audit trail plumbing shared by every tracked model (django-simple-history).

Each historical row records who (history_user), when (history_date), what (the full row before and
after, history_type +/~/-), and — from this base — where from (the client address) and the request
id that the request log also carries, so a change can be traced to the request that made it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class AuditFields(models.Model):
    ip_address = models.GenericIPAddressField(_("来源地址"), null=True, blank=True)
    request_id = models.CharField(_("请求编号"), max_length=64, blank=True)

    class Meta:
        abstract = True


def tracked(**kwargs):
    """HistoricalRecords with the audit fields; ``excluded_fields`` etc. pass through."""
    return HistoricalRecords(bases=[AuditFields], **kwargs)


def client_address(request):
    """The client's address as the server saw it (REMOTE_ADDR; a proxy must set it correctly)."""
    return request.META.get("REMOTE_ADDR") or None


def fill_audit_fields(sender, history_instance, **kwargs):
    """pre_create_historical_record receiver: copy address and request id from the current request."""
    request = getattr(HistoricalRecords.context, "request", None)
    if request is None:
        return
    history_instance.ip_address = client_address(request)
    history_instance.request_id = getattr(request, "request_id", "") or request.META.get("HTTP_X_REQUEST_ID", "")[:64]
