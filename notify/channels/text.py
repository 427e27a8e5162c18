"""A message as text for the channels that leave the product (e-mail, robots)."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _


def absolute_link(message):
    if not message.link:
        return ""
    return settings.NOTIFY_SITE_URL.rstrip("/") + message.link


def plain_text(message):
    parts = [message.title]
    if message.body:
        parts.append(message.body)
    link = absolute_link(message)
    if link:
        parts.append(link)
    return "\n".join(parts)


def markdown(message):
    parts = [f"#### {message.title}"]
    if message.body:
        parts.append(message.body)
    link = absolute_link(message)
    if link:
        with translation.override(settings.LANGUAGE_CODE):
            parts.append(f"[{_('查看详情')}]({link})")
    return "\n\n".join(parts)
