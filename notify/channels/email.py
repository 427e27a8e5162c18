from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext_lazy as _

from . import Channel, SendError
from .text import plain_text


class EmailChannel(Channel):
    """E-mail through Django's configured backend (EMAIL_BACKEND): SMTP in production.

    The idempotency key becomes the Message-ID (and an X-Idempotency-Key header): a mail system or
    client that sees the same message twice after a crash shows it once.
    """

    label = _("电子邮件")

    def reaches(self, user, context):
        return bool(user.email)

    def send(self, delivery):
        message = delivery.message
        if not delivery.user.email:
            raise SendError("the user has no e-mail address", permanent=True)
        key = delivery.idempotency_key
        email = EmailMessage(
            subject=message.title,
            body=plain_text(message),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[delivery.user.email],
            headers={"Message-ID": f"<{key}@siwu.notify>", "X-Idempotency-Key": key},
        )
        try:
            email.send(fail_silently=False)
        except Exception as exc:  # any backend's failure (SMTP, socket) is a failed attempt, retried
            raise SendError(f"{type(exc).__name__}: {exc}") from exc
        return None
