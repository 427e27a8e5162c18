"""The bell and the inbox (every signed-in user, their own messages only), one's reminder settings,
and the group robots (city admins)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core.access import ALL_ROLES, CITY_ADMIN_ONLY, allow

from . import channels
from .forms import PreferencesForm, RobotConfigForm
from .models import Delivery, Preference, QuietHours, RobotConfig

PAGE_SIZE = 30
ADMIN = allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)


def _inbox(user):
    return Delivery.objects.filter(user=user, channel="inapp", state="sent")


@allow(get=ALL_ROLES)
def inbox(request):
    rows = _inbox(request.user).select_related("message").order_by("-created_at", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/inbox.html",
        {"page": page, "unread": _inbox(request.user).filter(read_at__isnull=True).count()},
    )


@never_cache
@allow(get=ALL_ROLES)
def unread(request):
    """The bell's count, read by static/js/notify-bell.js (so no page pays a query for it)."""
    return JsonResponse({"unread": _inbox(request.user).filter(read_at__isnull=True).count()})


@allow(post=ALL_ROLES)
def read(request, pk):
    """Mark one of one's own messages read, then go where it points."""
    delivery = get_object_or_404(_inbox(request.user).select_related("message"), pk=pk)
    if delivery.read_at is None:
        _inbox(request.user).filter(pk=pk, read_at__isnull=True).update(read_at=timezone.now())
    link = delivery.message.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("notify:inbox")


@allow(post=ALL_ROLES)
def read_all(request):
    count = _inbox(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    messages.success(request, _("已将%(count)s条消息标为已读。") % {"count": count})
    return redirect("notify:inbox")


@allow(get=ALL_ROLES, post=ALL_ROLES)
def preferences(request):
    shown = list(channels.registry().items())
    choices = {
        (event, channel): enabled
        for event, channel, enabled in Preference.objects.filter(user=request.user).values_list(
            "event", "channel", "enabled"
        )
    }
    quiet = QuietHours.objects.filter(user=request.user).values_list("start", "end").first()
    form = PreferencesForm(
        request.POST if request.method == "POST" else None, channels_shown=shown, choices=choices, quiet=quiet
    )
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            Preference.objects.filter(user=request.user).delete()
            Preference.objects.bulk_create(
                [
                    Preference(user=request.user, event=event, channel=channel, enabled=enabled)
                    for (event, channel), enabled in form.choices().items()
                ]
            )
            start, end = form.cleaned_data["quiet_start"], form.cleaned_data["quiet_end"]
            if start is None:
                QuietHours.objects.filter(user=request.user).delete()
            else:
                QuietHours.objects.update_or_create(user=request.user, defaults={"start": start, "end": end})
        messages.success(request, _("提醒设置已保存。"))
        return redirect("notify:preferences")
    return render(request, "notify/preferences.html", {"form": form})


@allow(get=CITY_ADMIN_ONLY)
def robot_list(request):
    robots = RobotConfig.objects.select_related("township")
    labels = {name: channel.label for name, channel in channels.registry().items()}
    return render(request, "notify/robot_list.html", {"robots": robots, "labels": labels})


@ADMIN
def robot_edit(request, pk=None):
    robot = get_object_or_404(RobotConfig, pk=pk) if pk else None
    form = RobotConfigForm(request.POST or None, instance=robot)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("群机器人已保存。"))
        return redirect("notify:robots")
    return render(request, "notify/robot_form.html", {"form": form, "robot": robot})
