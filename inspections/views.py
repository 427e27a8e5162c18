"""Inspections (督查) in the browser: inspections, findings and their close-off, cross rounds, look-backs,
per-defect clearance, reconciliation, the quality report and the city's settings.

Every view declares who may use it (campaign.access.allow) and reads through a scoped queryset:
township staff see their own township's records (another township's answers 404, logged), plus,
while a cross round is on, what their township inspects under its assignment. Every write goes
through ``inspections.services``; a refusal there is shown next to the field it is about. Every POST
that writes redirects and says what happened.
"""

import logging
from functools import partial

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaign import params
from campaign.access import (
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
    scope_queryset,
    township_id_of,
)
from campaign.context_processors import picker_state
from campaign.models import Campaign, Township
from campaign.storage import removed_unless_kept
from enterprises.models import Enterprise, Status

from . import services
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
    LATE_COMPLETION,
    CrossAssignment,
    CrossRound,
    DefectClearance,
    Finding,
    FindingPhoto,
    FindingState,
    Inspection,
    InspectionPhoto,
    Kind,
    Lookback,
    LookbackDraw,
    LookbackResult,
    QualitySettings,
    Reconciliation,
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


def _cross_in_force(user, prefix=""):
    """Q for the cross assignments (reached through ``prefix``) ``user``'s township inspects today."""
    today = timezone.localdate()
    return Q(
        **{
            f"{prefix}inspecting_id": township_id_of(user),
            f"{prefix}round__held_on__lte": today,
            f"{prefix}round__ends_on__gte": today,
        }
    )


def visible_inspections(user):
    """Inspections ``user`` may read: all for city roles and inspectors; for township staff their own
    township's and, while the round is on, the cross inspections their township makes."""
    base = Inspection.objects.filter(deleted_at__isnull=True)
    if _is_staff(user) and township_id_of(user):
        return base.filter(Q(township_id=township_id_of(user)) | _cross_in_force(user, "assignment__"))
    return scope_queryset(user, base)


def visible_findings(user):
    base = Finding.objects.alive()
    if _is_staff(user) and township_id_of(user):
        return base.filter(Q(township_id=township_id_of(user)) | _cross_in_force(user, "inspection__assignment__"))
    return scope_queryset(user, base)


def _visible_or_404(user, visible, **lookup):
    """Like campaign.access.get_scoped_or_404 for a queryset scoped here (cross rounds included)."""
    found = visible.filter(**lookup).first()
    if found is None:
        hidden = visible.model._default_manager.filter(**lookup).first()
        if hidden is not None:
            log_denial(user, "outside scope", obj=hidden)
        raise Http404(_("找不到该记录"))
    return found


def current_assignments(user):
    """The cross assignments under which ``user``'s township inspects today (township staff only)."""
    if not _is_staff(user) or not township_id_of(user):
        return CrossAssignment.objects.none()
    return (
        CrossAssignment.objects.filter(_cross_in_force(user))
        .select_related("round", "inspected", "inspecting")
        .order_by("round__held_on", "pk")
    )


def _assignment_in_force(user, assignment):
    """True when ``user`` is staff of the assignment's inspecting township and its round is on today."""
    if assignment is None or not _is_staff(user):
        return False
    current = services.cross_assignment_of(user, assignment.inspected)
    today = timezone.localdate()
    return (
        current is not None
        and assignment.inspecting_id == township_id_of(user)
        and assignment.round.held_on <= today <= assignment.round.ends_on
    )


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
    return inspection.assignment_id is not None and _assignment_in_force(user, inspection.assignment)


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


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
    inspections = visible_inspections(user).select_related("township", "created_by", "assignment__inspecting")
    inspections = inspections.annotate(
        finding_count=Count("findings", filter=Q(findings__deleted_at__isnull=True), distinct=True),
        unit_count=Count("units", distinct=True),
    )
    f = InspectionFilterSet(request.GET or None, queryset=inspections.filter(done=True), user=user)
    planned = inspections.filter(done=False).select_related("follow_up_of__enterprise").order_by("inspected_on", "pk")
    context = {
        "filter": f,
        "page": _page(request, f.qs.order_by("-inspected_on", "-id")),
        "planned": list(planned),
        "can_create": _is_checker(user) or current_assignments(user).exists(),
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
        assignments = list(current_assignments(user))
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
        try:
            # The inspection and its photos land together: if the database fails once the photos
            # are written, they are removed again (and the error page says nothing was saved).
            with removed_unless_kept():
                inspection = form.save(user=user, kind=Kind.CROSS if assignment else None, assignment=assignment)
        except OSError:
            # The media volume is full or unwritable: the transaction was rolled back, and the
            # storage leaves no partial file (campaign/storage.py).
            logger.exception("site photos of an inspection of township %s could not be stored", township.pk)
            form.add_error(
                None, _("照片未能保存（服务器存储空间不足或暂时无法写入），本次督查未登记，请稍后重试或联系管理员。")
            )
            return render(request, "inspections/inspection_form.html", context, status=503)
        if inspection is not None:
            messages.success(request, _("已登记%(what)s") % {"what": inspection})
            return redirect(inspection)
    return render(request, "inspections/inspection_form.html", context)


@allow(get=ALL_ROLES)
@login_required
def inspection_detail(request, pk):
    inspections = visible_inspections(request.user).select_related(
        "township", "created_by", "assignment__round", "assignment__inspecting", "follow_up_of__enterprise"
    )
    inspection = _visible_or_404(request.user, inspections, pk=pk)
    _record_if_cross(request, inspection)
    findings = inspection.findings.alive().select_related("enterprise", "township").order_by("deadline", "pk")
    context = {
        "inspection": inspection,
        "units": list(inspection.units.order_by("name", "pk")),
        "photos": list(inspection.photos.order_by("pk")),
        "findings": list(findings),
        "can_add_finding": inspection.done and _may_record_on(request.user, inspection),
        "can_follow_up": not inspection.done and _is_checker(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "inspections/inspection_detail.html", context)


@allow(get=ALL_ROLES)
@login_required
def inspection_photo(request, pk, photo_pk):
    """Site photos are served to those who may read the inspection (never from a public media URL)."""
    inspection = _visible_or_404(request.user, visible_inspections(request.user), pk=pk)
    photo = get_object_or_404(InspectionPhoto, pk=photo_pk, inspection=inspection)
    response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _without_confirm(form):
    """The form's cleaned data for a service: without the confirmation of a date outside the year."""
    return {name: value for name, value in form.cleaned_data.items() if name != CONFIRM_DATES}


def _saved(request, form, write):
    """On a POST with a valid form, run ``write(**form.cleaned_data)``: True when it wrote; its refusals
    (ValidationError) go onto the form next to their fields, and the caller renders the form again."""
    if request.method != "POST" or not form.is_valid():
        return False
    try:
        write(**_without_confirm(form))
    except ValidationError as exc:
        apply_errors(form, exc)
        return False
    return True


@allow(get=CHECKERS, post=CHECKERS)
@login_required
def follow_up(request, pk):
    """实施跟踪督查: carry out the follow-up a serious finding scheduled."""
    inspection = _visible_or_404(request.user, visible_inspections(request.user).select_related("township"), pk=pk)
    if inspection.done:
        messages.info(request, _("该督查已实施"))
        return redirect(inspection)
    form = FollowUpForm(_posted(request), inspection=inspection, campaign=picker_state(request).campaign)
    if _saved(request, form, partial(services.follow_up_done, inspection=inspection, user=request.user)):
        messages.success(request, _("已实施跟踪督查，可继续登记发现的问题"))
        return redirect(inspection)
    context = {
        "form": form,
        "title": _("实施跟踪督查"),
        "intro": str(inspection),
        "back": inspection.get_absolute_url(),
        "submit": _("保存"),
    }
    return render(request, "inspections/form.html", context)


# --- findings ------------------------------------------------------------------------------------


@allow(get=RECORDERS, post=RECORDERS)
@login_required
def finding_create(request, pk):
    inspections = visible_inspections(request.user).select_related("township", "assignment__round")
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
    findings = visible_findings(user).select_related("enterprise", "township", "inspection")
    f = FindingFilterSet(request.GET or None, queryset=findings, user=user)
    today = timezone.localdate()
    figures = {
        "total": Count("id"),
        "open": Count("id", filter=Q(state=FindingState.OPEN)),
        "rectified": Count("id", filter=Q(state=FindingState.RECTIFIED)),
        "closed": Count("id", filter=Q(state=FindingState.CLOSED)),
        "overdue": Count("id", filter=Q(state=FindingState.OPEN, deadline__lt=today)),
        "late": Count("id", filter=LATE_COMPLETION),
    }
    # Per responsible township in one grouped query (ordering cleared, so the grouping is by township
    # alone); the totals are their sums.
    by_township = list(
        f.qs.order_by()
        .values("township_id", "township__name", "township__sort_order")
        .annotate(**figures)
        .order_by("township__sort_order", "township__name")
    )
    counts = {name: sum(row[name] for row in by_township) for name in figures}
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
    findings = visible_findings(user).select_related(
        "enterprise__township",
        "township",
        "inspection__assignment",
        "created_by",
        "rectified_by",
        "closed_by",
        "relapse",
    )
    finding = _visible_or_404(user, findings, pk=pk)
    _record_if_cross(request, finding.inspection, enterprise=finding.enterprise)
    own = is_city_admin(user) or (_is_staff(user) and finding.township_id == township_id_of(user))
    history = finding.history.select_related("history_user").order_by("-history_date", "-history_id")
    photos = list(finding.photos.order_by("pk"))
    context = {
        "finding": finding,
        "photos": [photo for photo in photos if photo.returned_at is None],
        "returned_photos": [photo for photo in photos if photo.returned_at is not None],
        "follow_ups": list(finding.follow_ups.filter(deleted_at__isnull=True).order_by("inspected_on")),
        "history": list(history),
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
    context = {
        "form": form,
        "title": _("报告整改完成"),
        "intro": str(finding),
        "back": finding.get_absolute_url(),
        "submit": _("提交"),
    }
    if request.method == "POST" and form.is_valid():
        try:
            # The completion and its photos land together (campaign/storage.py, as a rectification's).
            with removed_unless_kept():
                saved = form.save(user=request.user)
        except OSError:
            logger.exception("completion photos of finding %s could not be stored", finding.pk)
            form.add_error(
                None,
                _("照片未能保存（服务器存储空间不足或暂时无法写入），本次整改完成未报告，请稍后重试或联系管理员。"),
            )
            return render(request, "inspections/form.html", context, status=503)
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
    return render(request, "inspections/form.html", context)


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
    context = {
        "form": form,
        "title": _("验收销号"),
        "intro": str(finding),
        "warnings": warnings,
        "photos": [(reverse("inspections:finding_photo", args=[finding.pk, photo.pk]), photo) for photo in photos],
        "back": finding.get_absolute_url(),
        "submit": _("提交验收结论"),
    }
    return render(request, "inspections/form.html", context)


@allow(get=ALL_ROLES)
@login_required
def finding_photo(request, pk, photo_pk):
    """Completion photos are served to those who may read the finding (never from a public media URL)."""
    finding = _visible_or_404(request.user, visible_findings(request.user), pk=pk)
    photo = get_object_or_404(FindingPhoto, pk=photo_pk, finding=finding)
    response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- cross-inspection rounds ---------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def round_list(request):
    rounds = CrossRound.objects.select_related("campaign").annotate(pairs=Count("assignments"))
    context = {
        "page": _page(request, rounds.order_by("-held_on", "-id")),
        "current": list(current_assignments(request.user)),
        "can_create": is_city_admin(request.user),
        "today": timezone.localdate(),
    }
    return render(request, "inspections/round_list.html", context)


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
@login_required
def round_create(request):
    form = CrossRoundForm(_posted(request), **_dates(request))
    if request.method == "POST" and form.is_valid():
        try:
            round_ = services.cross_round_create(user=request.user, **_without_confirm(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已安排交叉督查“%(name)s”") % {"name": round_.name})
            return redirect(round_)
    context = {
        "form": form,
        "title": _("安排交叉督查"),
        "back": reverse("inspections:rounds"),
        "submit": _("随机安排"),
    }
    return render(request, "inspections/form.html", context)


@allow(get=ALL_ROLES)
@login_required
def round_detail(request, pk):
    round_ = get_object_or_404(CrossRound.objects.select_related("campaign", "created_by"), pk=pk)
    today = timezone.localdate()
    assignments = round_.assignments.select_related("inspecting", "inspected").annotate(
        inspection_count=Count("inspections", filter=Q(inspections__deleted_at__isnull=True), distinct=True),
        access_count=Count("accesses", distinct=True),
    )
    own = township_id_of(request.user)
    in_force = round_.held_on <= today <= round_.ends_on
    context = {
        "round": round_,
        "assignments": list(assignments.order_by("inspecting__sort_order", "inspecting__name")),
        "own_township_id": own if in_force and _is_staff(request.user) else None,
        "in_force": in_force,
    }
    return render(request, "inspections/round_detail.html", context)


def _cross_assignment_or_404(request, pk):
    """The assignment under which the user's township inspects, while the round is on; else 404 (logged)."""
    assignment = CrossAssignment.objects.select_related("round", "inspected", "inspecting").filter(pk=pk).first()
    if not _assignment_in_force(request.user, assignment):
        log_denial(request.user, "not inspecting under this cross assignment today", obj=assignment)
        raise Http404(_("找不到该记录"))
    return assignment


@allow(get=TOWNSHIP_STAFF_ONLY)
@login_required
def cross_units(request, pk):
    """交叉督查只读: the inspected township's units, personal data masked; every view is recorded."""
    assignment = _cross_assignment_or_404(request, pk)
    units = (
        Enterprise.objects.alive()
        .filter(township=assignment.inspected)
        .select_related("village")
        .order_by("village__name", "name", "pk")
    )
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
    units = Enterprise.objects.alive().filter(township=assignment.inspected).select_related("village")
    unit = units.filter(pk=unit_pk).first()
    if unit is None:
        log_denial(request.user, "unit outside the inspected township", obj=f"enterprises.Enterprise:{unit_pk}")
        raise Http404(_("找不到该记录"))
    services.record_cross_access(
        assignment=assignment, user=request.user, path=request.get_full_path(), enterprise=unit
    )
    context = {
        "assignment": assignment,
        "unit": unit,
        "rectifications": list(unit.rectifications.filter(deleted_at__isnull=True).order_by("rectified_on")),
        "findings": list(unit.findings.alive().select_related("inspection").order_by("found_on", "pk")),
    }
    return render(request, "inspections/cross_unit.html", context)


# --- look-backs ----------------------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def lookback_list(request):
    user = request.user
    lookbacks = scope_queryset(user, Lookback.objects.select_related("enterprise", "township", "rectification"))
    result = request.GET.get("result", "")
    if result in LookbackResult.values:
        lookbacks = lookbacks.filter(result=result)
    draws = scope_queryset(user, LookbackDraw.objects.select_related("township", "drawn_by"))
    draws = draws.annotate(size=Count("lookbacks")).order_by("-drawn_at", "-id")[:10]
    context = {
        "page": _page(request, lookbacks.order_by("due_on", "id")),
        "draws": list(draws),
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
    if request.method == "POST" and form.is_valid():
        try:
            draw = services.lookback_draw(user=request.user, **_without_confirm(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已抽取回头看样本：%(what)s") % {"what": draw})
            return redirect(draw)
    context = {
        "form": form,
        "title": _("随机抽取回头看"),
        "back": reverse("inspections:lookbacks"),
        "submit": _("抽取"),
    }
    return render(request, "inspections/form.html", context)


@allow(get=ALL_ROLES)
@login_required
def draw_detail(request, pk):
    draw = get_scoped_or_404(
        request.user, LookbackDraw.objects.select_related("township", "campaign", "drawn_by"), pk=pk
    )
    lookbacks = list(draw.lookbacks.select_related("enterprise", "rectification").order_by("enterprise_id"))
    drawn = sorted(lookback.enterprise_id for lookback in lookbacks)
    redrawn = services.redraw(draw)
    context = {"draw": draw, "lookbacks": lookbacks, "redraw_matches": redrawn == drawn, "redrawn": redrawn}
    return render(request, "inspections/draw_detail.html", context)


@allow(get=CHECKERS, post=CHECKERS)
@login_required
def lookback_schedule(request):
    form = ScheduleForm(_posted(request), **_dates(request))
    if request.method == "POST" and form.is_valid():
        try:
            created = services.lookbacks_schedule(user=request.user, **_without_confirm(form))
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("已安排 %(n)d 条到期的回头看") % {"n": created})
            return redirect("inspections:lookbacks")
    context = {
        "form": form,
        "title": _("按间隔安排回头看"),
        "back": reverse("inspections:lookbacks"),
        "submit": _("安排"),
    }
    return render(request, "inspections/form.html", context)


@allow(get=ALL_ROLES, post=CHECKERS)
@login_required
def lookback_detail(request, pk):
    """One look-back; inspectors and city admins record its result here (两断三清 for a shut-down unit)."""
    lookbacks = Lookback.objects.select_related(
        "enterprise", "township", "rectification", "draw", "checked_by", "inspection"
    )
    lookback = get_scoped_or_404(request.user, lookbacks, pk=pk)
    can_check = _is_checker(request.user) and lookback.result == LookbackResult.PENDING
    form = LookbackCheckForm(_posted(request), lookback=lookback, **_dates(request)) if can_check else None
    if request.method == "POST" and form is None:
        messages.info(request, _("该回头看已检查"))
        return redirect(lookback)
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            checked = services.lookback_check(
                lookback=lookback,
                checked_on=form.cleaned_data["checked_on"],
                operating=form.cleaned_data["operating"],
                checklist=form.checklist(),
                note=form.cleaned_data["note"],
                team=form.cleaned_data["team"],
                user=request.user,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if checked.result == LookbackResult.PASSED:
                messages.success(request, _("回头看通过"))
            else:
                messages.warning(
                    request, _("回头看结果：%(result)s，已登记督查问题") % {"result": checked.get_result_display()}
                )
            return redirect(checked)
    return render(request, "inspections/lookback_detail.html", {"lookback": lookback, "form": form})


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
    clearances = list(
        DefectClearance.objects.filter(enterprise=unit, deleted_at__isnull=True)
        .select_related("created_by", "rectification")
        .order_by("cleared_on", "id")
    )
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
    reconciliations = scope_queryset(
        request.user,
        Reconciliation.objects.select_related("township", "township_confirmed_by", "city_confirmed_by").annotate(
            item_count=Count("items"), open_items=Count("items", filter=Q(items__resolved_at__isnull=True))
        ),
    )
    context = {
        "page": _page(request, reconciliations.order_by("-period_start", "township__name")),
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
    context = {
        "form": form,
        "title": _("发起对账销号"),
        "intro": _("生成本半月的系统清单（未整治单位和未销号问题），双方核对确认。"),
        "back": reverse("inspections:reconciliations"),
        "submit": _("生成清单"),
    }
    return render(request, "inspections/form.html", context)


def _reconciliation(request, pk):
    queryset = Reconciliation.objects.select_related("township", "township_confirmed_by", "city_confirmed_by")
    return get_scoped_or_404(request.user, queryset, pk=pk)


UNIT_ROW = 5  # items of a snapshot's unit row that keeps the village and address (services._snapshot)
FINDING_ROW = 8


def _snapshot_rows(snapshot):
    """The reconciliation's lists to show: each unit and finding as listed when it was opened, with a
    link to the unit (and the finding), its village and address. Snapshots made before the village
    and address were kept read them from the register: one query per list, whatever its length."""
    units, findings = snapshot.get("units", []), snapshot.get("findings", [])
    old_units = [row[0] for row in units if len(row) < UNIT_ROW]
    old_findings = [row[0] for row in findings if len(row) < FINDING_ROW]
    places = {}
    if old_units:
        for unit in Enterprise.objects.filter(pk__in=old_units).select_related("village"):
            places[unit.pk] = (unit.village.name if unit.village_id else "", unit.address)
    found = {}
    if old_findings:
        rows = Finding.objects.filter(pk__in=old_findings).select_related("enterprise__village")
        for finding in rows:
            unit = finding.enterprise
            found[finding.pk] = (unit.pk, unit.village.name if unit.village_id else "", unit.address)
    unit_rows = []
    for row in units:
        village, address = row[3:5] if len(row) >= UNIT_ROW else places.get(row[0], ("", ""))
        unit_rows.append(
            {
                "name": row[1],
                "status": row[2],
                "village": village,
                "address": address,
                "url": reverse("enterprises:detail", args=[row[0]]),
            }
        )
    finding_rows = []
    for row in findings:
        unit_id, village, address = row[5:8] if len(row) >= FINDING_ROW else found.get(row[0], (None, "", ""))
        finding_rows.append(
            {
                "name": row[1],
                "kind": row[2],
                "deadline": row[3],
                "state": row[4],
                "village": village,
                "address": address,
                "url": reverse("inspections:finding", args=[row[0]]),
                "unit_url": reverse("enterprises:detail", args=[unit_id]) if unit_id else "",
            }
        )
    return unit_rows, finding_rows


def _render_reconciliation(request, reconciliation, *, dispute_form=None, resolve_form=None, resolve_item=None):
    user = request.user
    own = _is_staff(user) and reconciliation.township_id == township_id_of(user)
    items = reconciliation.items.select_related("enterprise", "finding", "raised_by", "resolved_by").order_by("id")
    items = list(items)
    for item in items:
        item.form = resolve_form if resolve_item == item.pk else ResolveForm(prefix=f"item{item.pk}")
    confirmed = reconciliation.confirmed
    unit_rows, finding_rows = _snapshot_rows(reconciliation.snapshot or {})
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
    context = {
        "form": form,
        "title": _("督查设置"),
        "intro": campaign.name,
        "back": f"{reverse('inspections:quality')}?campaign={campaign.slug}",
        "submit": _("保存"),
    }
    return render(request, "inspections/form.html", context)
