"""System checks of the deployment that Django's own do not say."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def plain_http_notice(app_configs, **kwargs):
    """With HTTPS=false, say once what is off instead of four warnings that stop `make serve`."""
    if settings.DEBUG or getattr(settings, "HTTPS", True):
        return []
    return [
        checks.Info(
            "HTTPS=false: session and CSRF cookies are not marked Secure, HTTP is not redirected to "
            "HTTPS and no HSTS header is sent. Use this only on an intranet where nothing terminates TLS.",
            id="campaign.I001",
        )
    ]
