"""Inspections (督查) in the browser: inspections, findings and their close-off, cross rounds, look-backs,
per-defect clearance, reconciliation, the quality report and the city's settings.

Every view declares who may use it (core.access.allow) and reads through a scoped queryset of
``inspections.selectors``, one entry point per list or detail page: township staff see their own
township's records (another township's answers 404, logged), plus, while a cross round is on, what
their township inspects under its assignment. A form page is drawn by ``_form_page``. Every write goes
through ``inspections.services``; a refusal there is shown next to the field it is about. Every POST
that writes redirects and says what happened.
"""

import logging
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign.context_processors import picker_state
from campaign.models import Campaign, Township
from core import params
from core.access import (
    ALL_ROLES,
    CITY_ADMIN_ONLY,
    WRITERS,
    Role,
    allow,
    can_read_township_records,
    can_write_unit,
    get_scoped_or_404,
    is_city_admin,
    log_denial,
    role_of,
    township_id_of,
)
from core.storage import private_photo, save_with_files
from enterprises.models import Enterprise, Status

from . import selectors, services
from .filters import FindingFilterSet, InspectionFilterSet
from .forms import (
    CONFIRM_DATES,
    ClearanceForm,
    CrossRoundForm,
    DisputeForm,
    DrawForm,
    FindingForm,
    FindingRectifiedForm,
    FindingVerifyForm,
    FollowUpForm,
    InspectionForm,
    LookbackCheckForm,
    PeriodForm,
    QualitySettingsForm,
    ReconciliationOpenForm,
    ResolveForm,
    ScheduleForm,
    apply_errors,
)
from .models import (
    Finding,
    FindingPhoto,
    FindingState,
    InspectionPhoto,
    Kind,
    LookbackPhoto,
    LookbackResult,
    QualitySettings,
    ReconciliationItem,
)
from .quality import quality_report, village_report

logger = logging.getLogger(__name__)

PAGE_SIZE = 25

# Who records inspections and findings: inspectors and city admins anywhere, township staff as the
# inspecting township of a cross round (checked per object below).
RECORDERS = frozenset({Role.CITY_ADMIN, Role.INSPECTOR, Role.TOWNSHIP_STAFF})
# Who verifies, draws samples and checks look-backs: never the township that did the work.
CHECKERS = frozenset({Role.CITY_ADMIN, Role.INSPECTOR})
TOWNSHIP_STAFF_ONLY = frozenset({Role.TOWNSHIP_STAFF})

QUALITY_REASONS = {
    "open_units": gettext_lazy("仍有未整治单位"),
    "lookbacks": gettext_lazy("回头看未通过或逾期未查"),
    "relapses": gettext_lazy("无复发期内有死灰复燃"),
    "findings": gettext_lazy("有未销号的督查问题"),
    "no_units": gettext_lazy("未登记过单位"),
}


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _posted(request):
    """The POST data to bind a form to: an empty POST is bound too, so it shows what is missing."""
    return request.POST if request.method == "POST" else None


def _is_checker(user):
    return role_of(user) in CHECKERS


def _is_staff(user):
    return role_of(user) == Role.TOWNSHIP_STAFF


# --- scope ---------------------------------------------------------------------------------------


def _visible_or_404(user, visible, **lookup):
    """Like core.access.get_scoped_or_404 for a queryset scoped here (cross rounds included)."""
    found = visible.filter(**lookup).first()
    if found is None:
        hidden = visible.model._default_manager.filter(**lookup).first()
        if hidden is not None:
            log_denial(user, "outside scope", obj=hidden)
        raise Http404(_("找不到该记录"))
    return found


def _record_if_cross(request, inspection, enterprise=None):
    """A township reading another township's inspection under a cross assignment: recorded."""
    if _is_staff(request.user) and inspection.township_id != township_id_of(request.user):
        services.record_cross_access(
            assignment=inspection.assignment, user=request.user, path=request.get_full_path(), enterprise=enterprise
        )


def _may_record_on(user, inspection):
    """Findings on ``inspection``: checkers on any; township staff on their own cross inspection in force."""
    if _is_checker(user):
        return True
    return inspection.assignment_id is not None and selectors.assignment_in_force(user, inspection.assignment)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _form_page(request, form, *, title, submit, about=None, intro="", back="", status=200, **extra):
    """The page of one form (inspections/form.html): its title and an optional line under it, the
    submit button's label and where cancelling goes back to; ``extra`` adds warnings or photos. A
    form ``about`` one record names it under the title, and cancelling goes back to its page."""
    if about is not None:
        intro, back = str(about), about.get_absolute_url()
    context = {"form": form, "title": title, "intro": intro, "back": back, "submit": submit, **extra}
    return render(request, "inspections/form.html", context, status=status)


def _dates(request):
    """The campaign and as-of day the picker holds (campaign/context_processors.py): a form's dates
    start at that day, and a date outside that campaign's year asks to be confirmed."""
    picker = picker_state(request)
    return {"campaign": picker.campaign, "as_of": picker.as_of}


# --- inspections ---------------------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def inspection_list(request):
    user = request.user
    done, planned = selectors.inspection_list(user)
    f = InspectionFilterSet(request.GET or None, queryset=done, user=user)
    context = {
        "filter": f,
        "page": _page(request, f.qs.order_by("-inspected_on", "-id")),
        "planned": list(planned),
        "can_create": _is_checker(user) or selectors.current_assignments(user).exists(),
        "is_checker": _is_checker(user),
        "today": timezone.localdate(),
    }
    return render(request, "inspections/inspection_list.html", context)


@allow(get=RECORDERS, post=RECORDERS)
@login_required
def inspection_create(request):
    """登记督查: checkers pick the township first; township staff record their cross inspection."""
    user = request.user
    assignment, assignments, township = None, [], None
    if _is_staff(user):
        assignments = list(selectors.current_assignments(user))
        if not assignments:
            log_denial(user, "no cross assignment in force")
            raise PermissionDenied
        wanted = _int_or_none(request.GET.get("assignment"))
        assignment = next((a for a in assignments if a.pk == wanted), assignments[0])
        township = assignment.inspected
        team = _("%(name)s交叉督查组") % {"name": assignment.inspecting.name}
    else:
        townships = Township.objects.filter(is_active=True).order_by("sort_order", "name")
        township = townships.filter(pk=_int_or_none(request.GET.get("township"))).first()
        profile = getattr(user, "profile", None)
        team = getattr(profile, "department", "") or ""
        if township is None:
            return render(request, "inspections/inspection_pick.html", {"townships": townships})
    form = InspectionForm(
        _posted(request),
        request.FILES if request.method == "POST" else None,
        township=township,
        cross=assignment is not None,
        team=team,
        **_dates(request),
    )
    context = {"form": form, "township": township, "assignment": assignment, "assignments": assignments}
    if request.method == "POST" and form.is_valid():
        # The inspection and its photos land together, or nothing is saved (core/storage.py).
        inspection, stored = save_with_files(
            lambda: form.save(user=user, kind=Kind.CROSS if assignment else None, assignment=assignment),
            form,
            refusal=_("照片未能保存（服务器存储空间不足或暂时无法写入），本次督查未登记，请稍后重试或联系管理员。"),
            log=("site photos of an inspection of township %s could not be stored", township.pk),
        )
        if not stored:
            return render(request, "inspections/inspection_form.html", context, status=503)
        if inspection is not None:
            messages.success(request, _("已登记%(what)s") % {"what": inspection})
            return redirect(inspection)
    return render(request, "inspections/inspection_form.html", context)


@allow(get=ALL_ROLES)
@login_required
def inspection_detail(request, pk):
    inspection = _visible_or_404(request.user, selectors.inspection_detail(request.user), pk=pk)
    _record_if_cross(request, inspection)
    context = {
        "inspection": inspection,
        **selectors.inspection_contents(inspection),
        "can_add_finding": inspection.done and _may_record_on(request.user, inspection),
        "can_follow_up": not inspection.done and _is_checker(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "inspections/inspection_detail.html", context)


@allow(get=ALL_ROLES)
@login_required
def inspection_photo(request, pk, photo_pk):
    """Site photos are served to those who may read the inspection (never from a public media URL)."""
    inspection = _visible_or_404(request.user, selectors.visible_inspections(request.user), pk=pk)
    photo = get_object_or_404(InspectionPhoto, pk=photo_pk, inspection=inspection)
    return private_photo(photo.image)


def _without_confirm(form):
    """The form's cleaned data for a service: without the confirmation of a date outside the year."""
    return {name: value for name, value in form.cleaned_data.items() if name != CONFIRM_DATES}


NOT_SAVED = object()


def _save(request, form, write):
    """On a POST with a valid form, run ``write(**form.cleaned_data)`` and return what it returns;
    NOT_SAVED when nothing was written. Its refusals (ValidationError) go onto the form next to their
    fields, and the caller renders the form again."""
    if request.method != "POST" or not form.is_valid():
        return NOT_SAVED
    try:
        return write(**_without_confirm(form))
    except ValidationError as exc:
        apply_errors(form, exc)
        return NOT_SAVED


def _saved(request, form, write):
    """Like ``_save``: True when it wrote."""
    return _save(request, form, write) is not NOT_SAVED


@allow(get=CHECKERS, post=CHECKERS)
@login_required
def follow_up(request, pk):
    """实施跟踪督查: carry out the follow-up a serious finding scheduled."""
    visible = selectors.visible_inspections(request.user).select_related("township")
    inspection = _visible_or_404(request.user, visible, pk=pk)
    if inspection.done:
        messages.info(request, _("该督查已实施"))
        return redirect(inspection)
    form = FollowUpForm(_posted(request), inspection=inspection, campaign=picker_state(request).campaign)
    if _saved(request, form, partial(services.follow_up_done, inspection=inspection, user=request.user)):
        messages.success(request, _("已实施跟踪督查，可继续登记发现的问题"))
        return redirect(inspection)
    return _form_page(request, form, title=_("实施跟踪督查"), about=inspection, submit=_("保存"))


# --- findings ------------------------------------------------------------------------------------


@allow(get=RECORDERS, post=RECORDERS)
@login_required
def finding_create(request, pk):
    inspections = selectors.visible_inspections(request.user).select_related("township", "assignment__round")
    inspection = _visible_or_404(request.user, inspections, pk=pk)
    if not _may_record_on(request.user, inspection):
        log_denial(request.user, "may not record findings on this inspection", obj=inspection)
        raise PermissionDenied
    if not inspection.done:
        messages.info(request, _("该督查尚未实施，不能登记问题"))
        return redirect(inspection)
    form = FindingForm(
        _posted(request), inspection=inspection, default_deadline=services.deadline_for(inspection.inspected_on)
    )
    if request.method == "POST" and form.is_valid():
        try:
            finding = services.finding_record(user=request.user, **form.service_kwargs())
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已登记问题：%(what)s") % {"what": finding})
            return redirect(inspection)
    return render(request, "inspections/finding_form.html", {"form": form, "inspection": inspection})


@allow(get=ALL_ROLES)
@login_required
def finding_list(request):
    user = request.user
    f = FindingFilterSet(request.GET or None, queryset=selectors.finding_list(user), user=user)
    today = timezone.localdate()
    counts, by_township = selectors.finding_counts(f.qs, today)
    context = {
        "filter": f,
        "page": _page(request, f.qs.order_by("deadline", "id")),
        "counts": counts,
        "by_township": by_township,
        "today": today,
    }
    return render(request, "inspections/finding_list.html", context)


@allow(get=ALL_ROLES)
@login_required
def finding_detail(request, pk):
    user = request.user
    finding = _visible_or_404(user, selectors.finding_detail(user), pk=pk)
    _record_if_cross(request, finding.inspection, enterprise=finding.enterprise)
    own = is_city_admin(user) or (_is_staff(user) and finding.township_id == township_id_of(user))
    contents = selectors.finding_contents(finding)
    photos = contents.pop("photos")
    context = {
        "finding": finding,
        "photos": [photo for photo in photos if photo.returned_at is None],
        "returned_photos": [photo for photo in photos if photo.returned_at is not None],
        **contents,
        "can_rectify": own and finding.state == FindingState.OPEN,
        "can_verify": _is_checker(user) and finding.state == FindingState.RECTIFIED,
        "no_evidence": finding.state == FindingState.RECTIFIED and not any(p.returned_at is None for p in photos),
        "self_verification": finding.rectified_by_id is not None and finding.rectified_by_id == user.pk,
        # A cross-inspecting township reads the finding, not the other township's register.
        "link_unit": not _is_staff(user) or finding.township_id == township_id_of(user),
        "can_clear": own
        and can_write_unit(user, finding.enterprise)
        and finding.enterprise.status != Status.RECTIFIED
        and finding.enterprise.deleted_at is None,
        "today": timezone.localdate(),
    }
    return render(request, "inspections/finding_detail.html", context)


@allow(get=WRITERS, post=WRITERS)
@login_required
def finding_rectified(request, pk):
    """报告整改完成: the responsible township (or a city admin), with site photos; the finding then
    waits for verification. A completion after the deadline is recorded and marked late."""
    finding = get_scoped_or_404(request.user, Finding.objects.alive().select_related("enterprise"), pk=pk)
    if request.method == "GET" and finding.state != FindingState.OPEN:
        messages.info(request, _("只有待整改的问题可以报告整改完成"))
        return redirect(finding)
    form = FindingRectifiedForm(
        _posted(request), request.FILES if request.method == "POST" else None, finding=finding, **_dates(request)
    )
    # The form page, shown again when the form is refused or the photos could not be stored.
    page = partial(_form_page, request, form, title=_("报告整改完成"), about=finding, submit=_("提交"))
    if request.method == "POST" and form.is_valid():
        # The completion and its photos land together, or nothing is saved (core/storage.py).
        saved, stored = save_with_files(
            lambda: form.save(user=request.user),
            form,
            refusal=_("照片未能保存（服务器存储空间不足或暂时无法写入），本次整改完成未报告，请稍后重试或联系管理员。"),
            log=("completion photos of finding %s could not be stored", finding.pk),
        )
        if not stored:
            return page(status=503)
        if saved is not None:
            if saved.completed_late:
                messages.warning(
                    request,
                    _("已报告整改完成，等待督查组验收。完成日期晚于整改期限%(n)d天，记为逾期完成。")
                    % {"n": saved.days_late},
                )
            else:
                messages.success(request, _("已报告整改完成，等待督查组验收"))
            return redirect(finding)
    return page()


@allow(get=CHECKERS, post=CHECKERS)
@login_required
def finding_verify(request, pk):
    """验收销号: by someone other than the person who reported the rectification (the service checks),
    and only for a completion reported with photos (shown here)."""
    finding = get_scoped_or_404(request.user, Finding.objects.alive().select_related("enterprise"), pk=pk)
    if request.method == "GET" and finding.state != FindingState.RECTIFIED:
        messages.info(request, _("只有已整改待验收的问题可以验收"))
        return redirect(finding)
    form = FindingVerifyForm(_posted(request), finding=finding, **_dates(request))
    if _saved(request, form, partial(services.finding_verify, finding=finding, user=request.user)):
        if form.cleaned_data["passed"]:
            messages.success(request, _("验收通过，问题已销号"))
        else:
            messages.warning(request, _("验收未通过，问题已退回整改"))
        return redirect(finding)
    warnings = []
    if finding.rectified_by_id is not None and finding.rectified_by_id == request.user.pk:
        warnings.append(_("谁整改、谁不能自验：请由其他人员验收"))
    photos = list(finding.photos.current().order_by("pk"))
    if finding.state == FindingState.RECTIFIED and not photos:
        warnings.append(_("报告整改完成时没有上传整改照片：不能销号，只能退回整改。"))
    if finding.completed_late:
        warnings.append(
            _("逾期完成：整改完成日期 %(done)s 晚于整改期限 %(deadline)s。")
            % {"done": finding.rectified_on.isoformat(), "deadline": finding.deadline.isoformat()}
        )
    return _form_page(
        request,
        form,
        title=_("验收销号"),
        about=finding,
        submit=_("提交验收结论"),
        warnings=warnings,
        photos=[(reverse("inspections:finding_photo", args=[finding.pk, photo.pk]), photo) for photo in photos],
    )


@allow(get=ALL_ROLES)
@login_required
def finding_photo(request, pk, photo_pk):
    """Completion photos are served to those who may read the finding (never from a public media URL)."""
    finding = _visible_or_404(request.user, selectors.visible_findings(request.user), pk=pk)
    photo = get_object_or_404(FindingPhoto, pk=photo_pk, finding=finding)
    return private_photo(photo.image)


# --- cross-inspection rounds ---------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def round_list(request):
    context = {
        "page": _page(request, selectors.round_list()),
        "current": list(selectors.current_assignments(request.user)),
        "can_create": is_city_admin(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "inspections/round_list.html", context)


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
@login_required
def round_create(request):
    form = CrossRoundForm(_posted(request), **_dates(request))
    round_ = _save(request, form, partial(services.cross_round_create, user=request.user))
    if round_ is not NOT_SAVED:
        messages.success(request, _("已安排交叉督查“%(name)s”") % {"name": round_.name})
        return redirect(round_)
    return _form_page(request, form, title=_("安排交叉督查"), back=reverse("inspections:rounds"), submit=_("随机安排"))


@allow(get=ALL_ROLES)
@login_required
def round_detail(request, pk):
    round_ = get_object_or_404(selectors.round_detail(timezone.localdate()), pk=pk)
    own = township_id_of(request.user)
    context = {
        "round": round_,
        "assignments": list(selectors.round_assignments(round_)),
        "own_township_id": own if round_.in_force and _is_staff(request.user) else None,
        "in_force": round_.in_force,
    }
    return render(request, "inspections/round_detail.html", context)


def _cross_assignment_or_404(request, pk):
    """The assignment under which the user's township inspects, while the round is on; else 404 (logged)."""
    assignment = selectors.cross_assignment(pk)
    if not selectors.assignment_in_force(request.user, assignment):
        log_denial(request.user, "not inspecting under this cross assignment today", obj=assignment)
        raise Http404(_("找不到该记录"))
    return assignment


@allow(get=TOWNSHIP_STAFF_ONLY)
@login_required
def cross_units(request, pk):
    """交叉督查只读: the inspected township's units, personal data masked; every view is recorded."""
    assignment = _cross_assignment_or_404(request, pk)
    units = selectors.cross_units(assignment)
    try:
        q = params.text(request.GET.get("q")) or ""
    except params.BadParameter:
        q = ""
        messages.error(request, _("搜索内容含有无效字符或过长，已忽略。"))
    if q:
        units = units.filter(Q(name__icontains=q) | Q(address__icontains=q))
    services.record_cross_access(assignment=assignment, user=request.user, path=request.get_full_path())
    context = {"assignment": assignment, "page": _page(request, units), "q": q}
    return render(request, "inspections/cross_units.html", context)


@allow(get=TOWNSHIP_STAFF_ONLY)
@login_required
def cross_unit(request, pk, unit_pk):
    assignment = _cross_assignment_or_404(request, pk)
    unit = selectors.cross_unit(assignment, unit_pk)
    if unit is None:
        log_denial(request.user, "unit outside the inspected township", obj=f"enterprises.Enterprise:{unit_pk}")
        raise Http404(_("找不到该记录"))
    services.record_cross_access(
        assignment=assignment, user=request.user, path=request.get_full_path(), enterprise=unit
    )
    context = {"assignment": assignment, "unit": unit, **selectors.cross_unit_contents(unit)}
    return render(request, "inspections/cross_unit.html", context)


# --- look-backs ----------------------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def lookback_list(request):
    user = request.user
    lookbacks = selectors.lookback_list(user)
    result = request.GET.get("result", "")
    if result in LookbackResult.values:
        lookbacks = lookbacks.filter(result=result)
    context = {
        "page": _page(request, lookbacks),
        "draws": selectors.recent_draws(user),
        "results": LookbackResult.choices,
        "result": result,
        "is_checker": _is_checker(user),
        "today": timezone.localdate(),
    }
    return render(request, "inspections/lookback_list.html", context)


@allow(get=CHECKERS, post=CHECKERS)
@login_required
def draw_create(request):
    form = DrawForm(_posted(request), **_dates(request))
    draw = _save(request, form, partial(services.lookback_draw, user=request.user))
    if draw is not NOT_SAVED:
        messages.success(request, _("已抽取回头看样本：%(what)s") % {"what": draw})
        return redirect(draw)
    return _form_page(request, form, title=_("随机抽取回头看"), back=reverse("inspections:lookbacks"), submit=_("抽取"))


@allow(get=ALL_ROLES)
@login_required
def draw_detail(request, pk):
    draw = get_scoped_or_404(request.user, selectors.draw_detail(), pk=pk)
    lookbacks = selectors.draw_lookbacks(draw)
    drawn = sorted(lookback.enterprise_id for lookback in lookbacks)
    redrawn = services.redraw(draw)
    context = {"draw": draw, "lookbacks": lookbacks, "redraw_matches": redrawn == drawn, "redrawn": redrawn}
    return render(request, "inspections/draw_detail.html", context)


@allow(get=CHECKERS, post=CHECKERS)
@login_required
def lookback_schedule(request):
    form = ScheduleForm(_posted(request), **_dates(request))
    created = _save(request, form, partial(services.lookbacks_schedule, user=request.user))
    if created is not NOT_SAVED:
        messages.success(request, _("已安排 %(n)d 条到期的回头看") % {"n": created})
        return redirect("inspections:lookbacks")
    return _form_page(
        request, form, title=_("按间隔安排回头看"), back=reverse("inspections:lookbacks"), submit=_("安排")
    )


@allow(get=ALL_ROLES, post=CHECKERS)
@login_required
def lookback_detail(request, pk):
    """One look-back; inspectors and city admins record its result here (两断三清 for a shut-down unit)."""
    lookback = get_scoped_or_404(request.user, selectors.lookback_detail(), pk=pk)
    can_check = _is_checker(request.user) and lookback.result == LookbackResult.PENDING
    files = request.FILES if request.method == "POST" else None
    form = LookbackCheckForm(_posted(request), files, lookback=lookback, **_dates(request)) if can_check else None
    if request.method == "POST" and form is None:
        messages.info(request, _("该回头看已检查"))
        return redirect(lookback)
    photos = list(lookback.photos.all())
    page = partial(
        render, request, "inspections/lookback_detail.html", {"lookback": lookback, "form": form, "photos": photos}
    )
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            # The result and its photos land together, or nothing is saved (core/storage.py).
            checked, stored = save_with_files(
                lambda: services.lookback_check(
                    lookback=lookback,
                    checked_on=form.cleaned_data["checked_on"],
                    operating=form.cleaned_data["operating"],
                    checklist=form.checklist(),
                    note=form.cleaned_data["note"],
                    team=form.cleaned_data["team"],
                    user=request.user,
                    photos=form.cleaned_data.get("photos") or (),
                ),
                form,
                refusal=_(
                    "照片未能保存（服务器存储空间不足或暂时无法写入），本次检查结果未保存，请稍后重试或联系管理员。"
                ),
                log=("look-back photos of %s could not be stored", lookback.pk),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
            return page()
        if not stored:
            return page(status=503)
        if checked.result == LookbackResult.PASSED:
            messages.success(request, _("回头看通过"))
        else:
            messages.warning(
                request, _("回头看结果：%(result)s，已登记督查问题") % {"result": checked.get_result_display()}
            )
        return redirect(checked)
    return page()


@allow(get=ALL_ROLES)
@login_required
def lookback_photo(request, pk, photo_pk):
    """A look-back's photos are served to those who may read the look-back (never from a public media URL)."""
    lookback = get_scoped_or_404(request.user, selectors.lookback_detail(), pk=pk)
    photo = get_object_or_404(LookbackPhoto, pk=photo_pk, lookback=lookback)
    return private_photo(photo.image)


# --- per-defect clearance (整改提升) --------------------------------------------------------------


@allow(get=ALL_ROLES, post=WRITERS)
@login_required
def clearance(request, pk):
    """逐项销号: each flagged defect of a unit cleared and signed off; the last one rectifies the unit."""
    unit = get_scoped_or_404(request.user, Enterprise.objects.alive().select_related("township"), pk=pk)
    writable = can_write_unit(request.user, unit)
    if request.method == "POST" and not writable:
        log_denial(request.user, "may read but not write", obj=unit)
        raise PermissionDenied
    clearances = selectors.clearances_of(unit)
    pending = {c.defect for c in clearances if c.rectification_id is None}
    rectified = unit.status == Status.RECTIFIED
    form = None
    if writable and not rectified:
        form = ClearanceForm(_posted(request), enterprise=unit, pending=pending, **_dates(request))
    if request.method == "POST" and form is None:
        messages.info(request, _("该单位已整治，不需要逐项销号"))
        return redirect("inspections:clearance", pk=unit.pk)
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            cleared = services.clearance_record(enterprise=unit, user=request.user, **_without_confirm(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if cleared.rectification_id:
                messages.success(request, _("全部四无情形已销号，该单位已登记为整治完成（整改提升）"))
            else:
                messages.success(request, _("已销号：%(what)s") % {"what": cleared.get_defect_display()})
            return redirect("inspections:clearance", pk=unit.pk)
    context = {
        "unit": unit,
        "clearances": clearances,
        "flagged": [(defect, defect.value in pending) for defect in unit.defects],
        "form": form,
        "rectified": rectified,
    }
    return render(request, "inspections/clearance.html", context)


# --- reconciliation (对账销号) ---------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def reconciliation_list(request):
    context = {
        "page": _page(request, selectors.reconciliation_list(request.user)),
        "can_open": role_of(request.user) in WRITERS,
    }
    return render(request, "inspections/reconciliation_list.html", context)


@allow(get=WRITERS, post=WRITERS)
@login_required
def reconciliation_open(request):
    """Township staff open their own township's half-month list; a city admin any township's."""
    user = request.user
    form = None if _is_staff(user) else ReconciliationOpenForm(_posted(request), user=user)
    if request.method == "POST" and (form is None or form.is_valid()):
        township = form.cleaned_data["township"] if form is not None else Township.objects.get(pk=township_id_of(user))
        reconciliation = services.reconciliation_open(township=township, user=user)
        messages.success(request, _("已生成对账清单：%(what)s") % {"what": reconciliation})
        return redirect(reconciliation)
    return _form_page(
        request,
        form,
        title=_("发起对账销号"),
        intro=_("生成本半月的系统清单（未整治单位和未销号问题），双方核对确认。"),
        back=reverse("inspections:reconciliations"),
        submit=_("生成清单"),
    )


def _reconciliation(request, pk):
    return get_scoped_or_404(request.user, selectors.reconciliation_detail(), pk=pk)


def _render_reconciliation(request, reconciliation, *, dispute_form=None, resolve_form=None, resolve_item=None):
    user = request.user
    own = _is_staff(user) and reconciliation.township_id == township_id_of(user)
    items = selectors.reconciliation_items(reconciliation)
    for item in items:
        item.form = resolve_form if resolve_item == item.pk else ResolveForm(prefix=f"item{item.pk}")
    confirmed = reconciliation.confirmed
    unit_rows, finding_rows = selectors.snapshot_rows(reconciliation.snapshot or {})
    context = {
        "reconciliation": reconciliation,
        "items": items,
        "unit_rows": unit_rows,
        "finding_rows": finding_rows,
        "dispute_form": dispute_form or (DisputeForm(reconciliation=reconciliation) if own else None),
        "can_dispute": own and not confirmed,
        "can_resolve": is_city_admin(user) and not confirmed,
        "can_confirm_township": own and reconciliation.township_confirmed_at is None,
        "can_confirm_city": is_city_admin(user)
        and reconciliation.township_confirmed_at is not None
        and reconciliation.city_confirmed_at is None,
    }
    return render(request, "inspections/reconciliation_detail.html", context)


@allow(get=ALL_ROLES)
@login_required
def reconciliation_detail(request, pk):
    return _render_reconciliation(request, _reconciliation(request, pk))


@allow(post=TOWNSHIP_STAFF_ONLY)
@login_required
def reconciliation_dispute(request, pk):
    """提出差异: the township's list differs from the system's."""
    reconciliation = _reconciliation(request, pk)
    form = DisputeForm(request.POST, reconciliation=reconciliation)
    if form.is_valid():
        enterprise_id, finding_id = form.targets()
        try:
            services.reconciliation_dispute(
                reconciliation=reconciliation,
                description=form.cleaned_data["description"],
                enterprise=Enterprise.objects.filter(pk=enterprise_id, township=reconciliation.township).first(),
                finding=Finding.objects.filter(pk=finding_id, township=reconciliation.township).first(),
                user=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已提出差异，等待市级处理"))
            return redirect(reconciliation)
    return _render_reconciliation(request, reconciliation, dispute_form=form)


@allow(post=CITY_ADMIN_ONLY)
@login_required
def reconciliation_resolve(request, pk):
    item = get_object_or_404(ReconciliationItem.objects.select_related("reconciliation"), pk=pk)
    reconciliation = _reconciliation(request, item.reconciliation_id)
    form = ResolveForm(request.POST, prefix=f"item{item.pk}")
    if form.is_valid():
        try:
            services.reconciliation_resolve(item=item, resolution=form.cleaned_data["resolution"], user=request.user)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已处理该差异"))
            return redirect(reconciliation)
    return _render_reconciliation(request, reconciliation, resolve_form=form, resolve_item=item.pk)


@allow(post=WRITERS)
@login_required
def reconciliation_confirm(request, pk):
    """确认清单: township staff confirm their township's side, then a city admin the city's."""
    reconciliation = _reconciliation(request, pk)
    side = "township" if _is_staff(request.user) else "city"
    try:
        services.reconciliation_confirm(reconciliation=reconciliation, side=side, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("已确认对账清单"))
    return redirect(reconciliation)


# --- quality report and settings -----------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def quality(request):
    """督查质量: findings, overdue items, look-back relapse rate and 零四无 eligibility per township."""
    campaign = picker_state(request).campaign
    if campaign is None:
        return render(request, "reports/no_campaign.html")
    form = PeriodForm(request.GET or None)
    start, end = campaign.start, campaign.clamp(timezone.localdate())
    if form.is_bound and form.is_valid():
        start = campaign.clamp(form.cleaned_data["start"] or start)
        end = campaign.clamp(form.cleaned_data["end"] or end)
        if start > end:
            start, end = end, start
    rows = quality_report(campaign, start, end)
    for row in rows:
        row.reason_labels = [QUALITY_REASONS[reason] for reason in row.reasons]
        # The overdue count links to the findings only for who may read that township's findings.
        row.findings_readable = can_read_township_records(request.user, row.township.pk)
    # 零四无 villages: of the townships whose units the reader may see (staff: their own).
    readable = [row.township.pk for row in rows if row.findings_readable]
    settings = QualitySettings.objects.filter(campaign=campaign).first()  # quality_report made it
    villages = village_report(campaign, end, readable, clean_days=settings.clean_days if settings else None)
    for village in villages:
        village.reason_labels = [QUALITY_REASONS[reason] for reason in village.reasons]
    context = {
        "campaign": campaign,
        "campaigns": Campaign.objects.order_by("-start", "slug"),
        "form": form,
        "start": start,
        "end": end,
        "rows": rows,
        "totals": {
            name: sum(getattr(row, name) for row in rows)
            for name in ("opened", "closed", "unresolved", "overdue", "checked", "relapsed", "relapses")
        },
        "eligible": sum(1 for row in rows if row.eligible),
        "villages": villages,
        "eligible_villages": sum(1 for village in villages if village.eligible),
        "settings": settings,
        "is_city_admin": is_city_admin(request.user),
    }
    return render(request, "inspections/quality.html", context)


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
@login_required
def quality_settings(request, slug):
    campaign = get_object_or_404(Campaign, slug=slug)
    instance = QualitySettings.objects.filter(campaign=campaign).first() or QualitySettings(campaign=campaign)
    form = QualitySettingsForm(_posted(request), instance=instance)
    if request.method == "POST" and form.is_valid():
        settings = form.save(commit=False)
        settings._history_user = request.user
        settings.save()
        messages.success(request, _("已保存%(campaign)s的督查设置") % {"campaign": campaign.name})
        return redirect(f"{reverse('inspections:quality')}?campaign={campaign.slug}")
    return _form_page(
        request,
        form,
        title=_("督查设置"),
        intro=campaign.name,
        back=f"{reverse('inspections:quality')}?campaign={campaign.slug}",
        submit=_("保存"),
    )
