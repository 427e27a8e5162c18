"""Account pages for everyone (change my password) and the management pages for city admins.

Management (/manage/): users, townships and villages, campaigns with their milestones, and township
targets. Every page is city-admin only (``ADMIN``). Nothing is deleted here: a user is disabled, a
township switched off, a target changed by a new revision with its reason; simple-history records
who changed what, and the views add a change reason where the row alone would not say why.
"""

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import ALL_ROLES, CITY_ADMIN_ONLY, Role, allow

from .forms import (
    CampaignCreateForm,
    CampaignEditForm,
    MilestoneFormSet,
    PasswordResetForm,
    TargetRevisionForm,
    TownshipForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
    VillageForm,
    new_milestone_formset,
)
from .models import Campaign, Milestone, TargetRevision, Township, UserProfile, Village
from .services import assign_role, campaign_create

ADMIN = allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
ADMIN_POST = allow(post=CITY_ADMIN_ONLY)
PAGE_SIZE = 50

# --- My account ----------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("reports:dashboard")

    def form_valid(self, form):
        form.user._change_reason = "修改密码"
        response = super().form_valid(form)
        messages.success(self.request, _("密码已修改。"))
        return response


password_change = allow(get=ALL_ROLES, post=ALL_ROLES)(PasswordChangeView.as_view())


# --- Sessions and lockouts -----------------------------------------------------------------------


def end_sessions(user):
    """Delete every session of ``user`` at once (a disabled user must not stay signed in anywhere).

    Sessions store the user id inside their signed data, so each live session is decoded; a city
    has a few hundred signed-in users at most.
    """
    doomed = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500)
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    ]
    Session.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def locked_usernames(usernames):
    """Which of ``usernames`` django-axes has locked out from some address right now."""
    attempts = AccessAttempt.objects.filter(
        username__in=usernames, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    )
    if settings.AXES_COOLOFF_TIME:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    return set(attempts.values_list("username", flat=True))


# --- Management: overview ------------------------------------------------------------------------


@ADMIN
def manage_index(request):
    counts = User.objects.aggregate(
        active=Count("id", filter=Q(is_active=True)), disabled=Count("id", filter=Q(is_active=False))
    )
    return render(
        request,
        "campaign/manage_index.html",
        {
            "counts": counts,
            "townships": Township.objects.count(),
            "campaigns": Campaign.objects.order_by("-start", "slug"),
        },
    )


# --- Users ---------------------------------------------------------------------------------------


def _user_queryset():
    return User.objects.select_related("profile__township").prefetch_related("groups")


@ADMIN
def user_list(request):
    form = UserFilterForm(request.GET or None)
    users = _user_queryset().order_by("-is_active", "username")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            users = users.filter(
                Q(username__icontains=q) | Q(first_name__icontains=q) | Q(profile__department__icontains=q)
            )
        if data["role"] == Role.CITY_ADMIN:
            users = users.filter(Q(is_superuser=True) | Q(groups__name=Role.CITY_ADMIN)).distinct()
        elif data["role"]:
            users = users.filter(groups__name=data["role"], is_superuser=False)
        if data["township"]:
            users = users.filter(profile__township=data["township"])
        if data["status"]:
            users = users.filter(is_active=data["status"] == "active")
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    locked = locked_usernames([u.username for u in page])
    rows = [{"user": u, "role": _role_label(u), "locked": u.username in locked} for u in page]
    return render(request, "campaign/user_list.html", {"form": form, "page": page, "rows": rows})


def _role_label(user):
    if user.is_superuser:
        return Role.CITY_ADMIN.label
    names = {g.name for g in user.groups.all()}
    role = next((r for r in Role if r.value in names), None)
    return role.label if role else _("未分配角色")


@ADMIN
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with transaction.atomic():
            user = User(username=data["username"], first_name=data["full_name"])
            user.set_password(data["password1"])
            user._change_reason = "新建账号"
            user.save()
            assign_role(user, data["role"], township=data["township"], department=data["department"].strip())
            UserProfile.objects.filter(user=user).update(phone=data["phone"])
        messages.success(request, _("已创建账号“%(name)s”。") % {"name": user.username})
        return redirect("manage:users")
    return render(request, "campaign/user_form.html", {"form": form, "target_user": None})


@ADMIN
def user_edit(request, pk):
    user = get_object_or_404(_user_queryset(), pk=pk)
    form = UserEditForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if user == request.user and data["role"] != Role.CITY_ADMIN:
            form.add_error("role", _("不能取消自己的市级管理员角色，以免无人管理。"))
        else:
            with transaction.atomic():
                if user.first_name != data["full_name"]:
                    user.first_name = data["full_name"]
                    user._change_reason = "修改姓名"
                    user.save(update_fields=["first_name"])
                assign_role(user, data["role"], township=data["township"], department=data["department"].strip())
                profile = UserProfile.objects.get(user=user)
                if profile.phone != data["phone"]:
                    profile.phone = data["phone"]
                    profile.save(update_fields=["phone"])
            messages.success(request, _("已保存账号“%(name)s”。") % {"name": user.username})
            return redirect("manage:users")
    return render(
        request,
        "campaign/user_form.html",
        {
            "form": form,
            "target_user": user,
            "role_label": _role_label(user),
            "locked": user.username in locked_usernames([user.username]),
        },
    )


@ADMIN
def user_password(request, pk):
    user = get_object_or_404(User, pk=pk)
    form = PasswordResetForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        user.set_password(form.cleaned_data["password1"])
        user._change_reason = "管理员重置密码"
        user.save()
        # A new password invalidates the user's sessions (their auth hash changes); say so.
        messages.success(request, _("已为“%(name)s”设置新密码，该用户需用新密码重新登录。") % {"name": user.username})
        return redirect("manage:user_edit", pk=user.pk)
    return render(request, "campaign/user_password.html", {"form": form, "target_user": user})


@ADMIN_POST
def user_active(request, pk):
    """Disable (ending every session of the user at once) or enable an account."""
    user = get_object_or_404(User, pk=pk)
    enable = request.POST.get("action") == "enable"
    if not enable and user == request.user:
        messages.error(request, _("不能停用自己的账号。"))
        return redirect("manage:user_edit", pk=user.pk)
    if user.is_active != enable:
        user.is_active = enable
        user._change_reason = "启用账号" if enable else "停用账号"
        user.save(update_fields=["is_active"])
    if enable:
        messages.success(request, _("已启用账号“%(name)s”。") % {"name": user.username})
    else:
        ended = end_sessions(user)
        messages.success(
            request,
            _("已停用账号“%(name)s”，并结束其 %(count)d 个登录会话。") % {"name": user.username, "count": ended},
        )
    return redirect("manage:user_edit", pk=user.pk)


@ADMIN_POST
def user_unlock(request, pk):
    """Clear django-axes' failed-login record for the user, from every address."""
    user = get_object_or_404(User, pk=pk)
    axes_reset(username=user.username)
    messages.success(request, _("已解除“%(name)s”的登录锁定。") % {"name": user.username})
    return redirect("manage:user_edit", pk=user.pk)


# --- Townships and villages ----------------------------------------------------------------------


@ADMIN
def township_list(request):
    townships = Township.objects.annotate(
        village_count=Count("villages", distinct=True), staff_count=Count("staff", distinct=True)
    )
    return render(request, "campaign/township_list.html", {"townships": townships})


@ADMIN
def township_create(request):
    form = TownshipForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        township = form.save()
        messages.success(request, _("已新增乡镇(街道)“%(name)s”。") % {"name": township.name})
        return redirect("manage:township_edit", pk=township.pk)
    return render(request, "campaign/township_form.html", {"form": form, "township": None})


@ADMIN
def township_edit(request, pk):
    township = get_object_or_404(Township, pk=pk)
    form = TownshipForm(request.POST or None, instance=township)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存“%(name)s”。") % {"name": township.name})
        return redirect("manage:townships")
    villages = township.villages.order_by("name")
    return render(request, "campaign/township_form.html", {"form": form, "township": township, "villages": villages})


@ADMIN
def village_create(request, pk):
    township = get_object_or_404(Township, pk=pk)
    form = VillageForm(request.POST or None, township=township)
    if request.method == "POST" and form.is_valid():
        village = form.save()
        messages.success(request, _("已新增村(社区)“%(name)s”。") % {"name": village.name})
        return redirect("manage:township_edit", pk=township.pk)
    return render(request, "campaign/village_form.html", {"form": form, "township": township, "village": None})


@ADMIN
def village_edit(request, pk):
    village = get_object_or_404(Village.objects.select_related("township"), pk=pk)
    form = VillageForm(request.POST or None, instance=village, township=village.township)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存“%(name)s”。") % {"name": village.name})
        return redirect("manage:township_edit", pk=village.township_id)
    return render(
        request, "campaign/village_form.html", {"form": form, "township": village.township, "village": village}
    )


# --- Campaigns, milestones, targets --------------------------------------------------------------


@ADMIN
def campaign_list(request):
    campaigns = Campaign.objects.annotate(milestone_count=Count("milestones")).order_by("-start", "slug")
    return render(request, "campaign/campaign_list.html", {"campaigns": campaigns})


@ADMIN
def campaign_new(request):
    form = CampaignCreateForm(request.POST or None, initial={"year": timezone.localdate().year})
    year = _year(request.POST.get("year")) or timezone.localdate().year
    milestones = new_milestone_formset(request.POST or None, year=year)
    if request.method == "POST" and form.is_valid() and milestones.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaign_create(
                slug=data["slug"],
                year=data["year"],
                target=data["target"],
                milestones=milestones.schedule(),
                band=data["band"],
                name=data["name"].strip(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已创建整治行动“%(name)s”。") % {"name": campaign.name})
            return redirect("manage:targets", slug=campaign.slug)
    return render(request, "campaign/campaign_form.html", {"form": form, "milestones": milestones})


def _year(text):
    try:
        year = int(text)
    except (TypeError, ValueError):
        return None
    return year if 2000 <= year <= 2100 else None


@ADMIN
def campaign_edit(request, slug):
    campaign = get_object_or_404(Campaign, slug=slug)
    form = CampaignEditForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存“%(name)s”。") % {"name": campaign.name})
        return redirect("manage:campaigns")
    return render(request, "campaign/campaign_edit.html", {"form": form, "campaign": campaign})


@ADMIN
def milestone_edit(request, slug):
    campaign = get_object_or_404(Campaign, slug=slug)
    formset = MilestoneFormSet(
        request.POST or None,
        queryset=Milestone.objects.filter(campaign=campaign).order_by("date"),
        year=campaign.year,
        prefix="milestones",
    )
    if request.method == "POST" and formset.is_valid():
        with transaction.atomic():
            for milestone in formset.save(commit=False):
                milestone.campaign = campaign
                milestone.save()
        messages.success(request, _("已保存“%(name)s”的节点目标。") % {"name": campaign.name})
        return redirect("manage:campaigns")
    return render(request, "campaign/milestone_form.html", {"formset": formset, "campaign": campaign})


@ADMIN
def target_list(request, slug):
    """Each township's annual target in force today (within the year) and every revision of it."""
    campaign = get_object_or_404(Campaign, slug=slug)
    day = campaign.clamp(timezone.localdate())
    revisions = list(
        TargetRevision.objects.filter(campaign=campaign)
        .select_related("township", "created_by")
        .order_by("township__sort_order", "township__name", "effective_on")
    )
    rows = {}
    city = {"township": None, "current": campaign.target, "revisions": []}
    for revision in revisions:
        if revision.township_id is None:
            city["revisions"].append(revision)
            if revision.effective_on <= day:
                city["current"] = revision.target
            continue
        row = rows.setdefault(revision.township_id, {"township": revision.township, "current": None, "revisions": []})
        row["revisions"].append(revision)
        if revision.effective_on <= day:
            row["current"] = revision.target
    missing = Township.objects.filter(is_active=True).exclude(pk__in=rows)
    return render(
        request,
        "campaign/target_list.html",
        {"campaign": campaign, "day": day, "city": city, "rows": list(rows.values()), "missing": missing},
    )


@ADMIN
def target_add(request, slug):
    campaign = get_object_or_404(Campaign, slug=slug)
    initial = {"effective_on": campaign.clamp(timezone.localdate())}
    if request.GET.get("township"):
        initial["township"] = request.GET["township"]
    form = TargetRevisionForm(request.POST or None, campaign=campaign, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            revision = form.save(user=request.user)
        who = revision.township.name if revision.township_id else _("全市")
        messages.success(
            request,
            _("已登记%(who)s年度任务 %(target)d，自 %(day)s 起生效。")
            % {"who": who, "target": revision.target, "day": revision.effective_on.isoformat()},
        )
        return redirect("manage:targets", slug=campaign.slug)
    return render(request, "campaign/target_form.html", {"form": form, "campaign": campaign})
