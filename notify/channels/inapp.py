from django.utils.translation import gettext_lazy as _

from . import Channel


class InAppChannel(Channel):
    """The bell: the delivery row is the inbox entry, delivered as it is written."""

    label = _("站内消息")
    immediate = True

    def send(self, delivery):
        return None
