"""The campaign a command names, or a clear error listing the known ones."""

from django.core.management.base import CommandError

from campaign.models import Campaign


def campaign_or_error(slug):
    try:
        return Campaign.objects.get(slug=slug)
    except Campaign.DoesNotExist:
        known = ", ".join(Campaign.objects.values_list("slug", flat=True)) or "—"
        raise CommandError(f"未找到整治行动 '{slug}'（已有：{known}）") from None
