from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    """The ground floor every app stands on: access, audit, storage, sheets, numbers, backups, ops."""

    name = "core"
    verbose_name = _("平台")

    def ready(self):
        from simple_history.signals import pre_create_historical_record

        from . import checks  # noqa: F401  (registers the deployment checks)
        from .history import fill_audit_fields

        pre_create_historical_record.connect(fill_audit_fields, dispatch_uid="campaign.fill_audit_fields")
