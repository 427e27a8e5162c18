"""The unit register (四无单位台账): list, detail, create, edit, rectify, relapse, delete, export.

Every view declares who may use it (core.access.allow) and starts from ``scoped_units(user)``:
a unit outside the user's township is not found (404); a unit the user may see but not write is
refused (403). Every POST that writes redirects (so a refresh never submits twice) and says what
happened in a message. Nothing is hard-deleted: deleting a unit or withdrawing a rectification or
relapse marks it with who, when and why, and can be undone; every write leaves a history row.
"""

import logging
from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from campaign.context_processors import PICKER_PARAMS, picker_state
from core.access import (
    ALL_ROLES,
    CITY_ADMIN_ONLY,
    WRITERS,
    Role,
    allow,
    can_see_personal_data,
    can_write_unit,
    get_scoped_or_404,
    is_city_admin,
    log_denial,
    role_of,
    scope_units,
    township_id_of,
)
from core.audit import attach_users, changes_since_version, describe, history_model, history_of
from core.storage import private_photo, save_with_files

from . import unit_page
from .exports import RegisterExport
from .filtersets import UnitFilterSet
from .forms import EnterpriseForm, ReasonForm, RectificationForm, RelapseForm
from .masking import record_personal_data_export, record_personal_data_view
from .models import Enterprise, Method, Rectification, RectificationPhoto, Relapse, Status
from .pagination import Cursor, about, keyset_page, register_totals
from .services import (
    RECTIFICATION,
    RELAPSE,
    StaleEdit,
    event_reinstate,
    event_withdraw,
    latest_event,
    unit_delete,
    unit_undelete,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 25
EVENT_MODELS = {RECTIFICATION: Rectification, RELAPSE: Relapse}


def _units(*, with_deleted=False):
    queryset = Enterprise.objects.select_related("township", "village")
    return queryset if with_deleted else queryset.alive()


def scoped_units(user, *, with_deleted=False):
    """The units ``user`` may see: the one queryset every register view starts from."""
    return scope_units(user, _units(with_deleted=with_deleted))


def _readable_unit(request, pk):
    # A city admin may still open a deleted unit: to see who deleted it and why, and to restore it.
    units = _units(with_deleted=is_city_admin(request.user))
    # Scoped by get_scoped_or_404 itself, which logs a request for a unit outside the user's scope.
    return get_scoped_or_404(request.user, units, pk=pk)


def _writable_unit(request, pk, *, deleted=False):
    """The unit to write: 404 outside the user's scope (logged), 403 where the user may only read."""
    units = _units(with_deleted=deleted and is_city_admin(request.user))
    unit = get_scoped_or_404(request.user, units, pk=pk)
    if deleted != unit.is_deleted:
        raise Http404
    if not can_write_unit(request.user, unit):
        log_denial(request.user, "may read but not write", obj=unit)
        raise PermissionDenied
    return unit


def _picked(request):
    """The campaign and as-of day the dates of a form start from (campaign/context_processors.py)."""
    picker = picker_state(request)
    return {"campaign": picker.campaign, "as_of": picker.as_of}


def _kept_query(request):
    """``?campaign=…&as_of=…`` when the request named a campaign or day, for the links onwards to
    the forms (so their dates start at that day); "" otherwise (the forms then use the default)."""
    if not any(request.GET.get(key) for key in PICKER_PARAMS):
        return ""
    picker = picker_state(request)
    return f"?{picker.query}" if picker.campaign is not None else ""


def _report_link(request, f):
    """The progress report the register's totals differ from: the user's own township's page (or the
    one township filtered on), else the city's, as of the picked day."""
    picker = picker_state(request)
    if picker.campaign is None:
        return None
    township_id = township_id_of(request.user) if role_of(request.user) == Role.TOWNSHIP_STAFF else None
    chosen = f.form.cleaned_data.get("township") if f.is_bound and f.is_valid() else None
    if township_id is None and chosen is not None and len(chosen) == 1:
        township_id = chosen[0].pk
    url = reverse("reports:township", args=[township_id]) if township_id else reverse("reports:dashboard")
    return {"url": f"{url}?{picker.query}", "campaign": picker.campaign, "as_of": picker.as_of}


# --- reading -------------------------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def unit_list(request):
    data = request.GET.copy()
    cursor = Cursor.decode(data.pop("cursor", [None])[0])
    data.pop("page", None)  # the numbered pages of old links start again from the first
    for key in PICKER_PARAMS:  # the day the totals are compared with (_report_link), not a filter
        data.pop(key, None)
    f = UnitFilterSet(data or None, queryset=scoped_units(request.user), user=request.user)
    totals = register_totals(f)
    page = keyset_page(f.qs, cursor, PAGE_SIZE, totals=totals)
    methods = dict(Method.choices)
    for unit in page:
        unit.current_method_label = methods.get(unit.current_method, "")
    context = {
        "filter": f,
        "page": page,
        "counts": totals.as_dict(),
        "counts_exact": totals.exact,
        "shown_counts": totals.as_dict() if totals.exact else {k: about(v) for k, v in totals.as_dict().items()},
        "can_create": can_write_unit(request.user),
        "is_city_admin": is_city_admin(request.user),
        "report": _report_link(request, f),
        "today": timezone.localdate(),
    }
    return render(request, "enterprises/unit_list.html", context)


@allow(get=ALL_ROLES)
@login_required
def unit_export(request, fmt="xlsx"):
    user = request.user
    f = UnitFilterSet(request.GET or None, queryset=scoped_units(user), user=user)
    if f.is_bound and not f.is_valid():
        messages.error(request, _("筛选条件有误，请修正后再导出"))
        return redirect(f"{reverse('enterprises:list')}?{request.GET.urlencode()}")

    def full_for(township_id):
        return can_see_personal_data(user, SimpleNamespace(township_id=township_id))

    # The file is streamed as the rows are read: an error once it has started can only cut it short,
    # so whatever can refuse or must be recorded happens before the first byte. Made, the export has
    # counted its rows; one that carries full owner names or phones is recorded with their number
    # (an interrupted download is recorded all the same: the data may have left).
    export = RegisterExport(f.qs, full_for=full_for, fmt=fmt)
    if export.full:
        record_personal_data_export(request, count=export.full, query=request.GET.urlencode())
    filename = _("四无单位台账-%(day)s") % {"day": timezone.localdate().strftime("%Y%m%d")} + f".{fmt}"
    response = StreamingHttpResponse(export.stream(), content_type=export.content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    # The number of rows coming, for the page's progress line (static/js/export-progress.js).
    response["X-Rows-Total"] = str(export.rows)
    return response


@allow(get=ALL_ROLES)
@login_required
def unit_detail(request, pk):
    return _render_detail(request, _readable_unit(request, pk), full_personal_data=False)


@allow(get=ALL_ROLES, post=WRITERS)
@login_required
def unit_contact(request, pk):
    """查看完整信息: the unit page again, with the owner's full name and phone; the viewing is recorded.

    Answered to the POST itself (not redirected): the full values are in no URL and no history entry.
    """
    if request.method != "POST":
        return redirect("enterprises:detail", pk=pk)
    unit = _readable_unit(request, pk)
    if not can_see_personal_data(request.user, unit):
        raise PermissionDenied
    record_personal_data_view(request, unit)
    response = _render_detail(request, unit, full_personal_data=True)
    response["Cache-Control"] = "no-store"
    return response


def _render_detail(request, unit, *, full_personal_data):
    """The unit page: its facts, timeline and audit trail, in a fixed number of queries.

    The people the page names (who entered, withdrew, closed, checked or changed what) are read in
    one query at the end (``attach_users``) rather than joined into each of the page's queries.
    """
    # Ordered by their own dates: the models' default order starts with the unit's, which for one
    # unit only costs a join.
    rectifications = list(
        unit.rectifications.order_by("rectified_on", "id").prefetch_related(
            Prefetch("photos", queryset=RectificationPhoto.objects.order_by("id"))
        )
    )
    # A relapse or a look-back belongs to a rectification of the unit, and nothing of either is ever
    # deleted (only marked): a unit never rectified has neither, nor their history.
    relapses = list(unit.relapses.order_by("found_on", "id")) if rectifications else []
    findings, lookbacks, clearances = unit_page.inspection_records(unit, rectified=bool(rectifications))
    if unit.village_id is not None and unit.village.township_id == unit.township_id:
        unit.village.township = unit.township  # the village's name in the history reads it
    records = _history_records(unit, rectifications, relapses)
    attach_users(
        [
            (unit, "created_by"),
            (unit, "deleted_by"),
            *((e, name) for e in (*rectifications, *relapses) for name in ("created_by", "deleted_by")),
            *((f, name) for f in findings for name in ("created_by", "closed_by")),
            *((lb, "checked_by") for lb in lookbacks),
            *((c, "created_by") for c in clearances),
            *((r, "history_user") for r in records),
        ]
    )
    writable = not unit.is_deleted and can_write_unit(request.user, unit)
    latest = latest_event(rectifications, relapses) if writable else None
    withdrawn = [e for e in (*rectifications, *relapses) if e.deleted_at is not None]
    last_withdrawn = max(withdrawn, key=lambda e: e.deleted_at) if writable and withdrawn else None
    checks = [("finding", f.found_on, 1, f.created_at, f) for f in findings]
    checks += [("lookback", lb.checked_on, 1, lb.checked_on, lb) for lb in lookbacks]
    checks += [("clearance", c.cleared_on, 2, c.created_at, c) for c in clearances]
    known = [unit, unit.township, unit.village, unit.created_by, unit.deleted_by, *rectifications]
    known += [u for e in (*rectifications, *relapses) for u in (e.created_by, e.deleted_by)]
    history = describe(records, full_personal_data=full_personal_data, known=known, hide={"enterprise"})
    return render(
        request,
        "enterprises/unit_detail.html",
        {
            "unit": unit,
            "counted": _counted(request, rectifications) if not unit.is_deleted else None,
            "kept_query": _kept_query(request),
            "timeline": _timeline(unit, rectifications, relapses, latest, last_withdrawn, checks),
            "history": history,
            "full_personal_data": full_personal_data,
            "can_see_personal_data": can_see_personal_data(request.user, unit),
            "can_write": writable,
            "can_rectify": writable and unit.status != Status.RECTIFIED,
            "can_relapse": writable and unit.status == Status.RECTIFIED,
            "is_city_admin": is_city_admin(request.user),
        },
    )


def _counted(request, rectifications):
    """When the picked campaign's report still counts the unit as open (未整治) although the page
    shows it 已整治: its standing rectification is dated after the picked as-of day, inside the
    campaign's year or after it (``outside``). None otherwise (docs/counting.md: a period holding
    on the day counts; one from before the year counts as neither rectified nor open)."""
    standing = next((r for r in rectifications if r.reopened_on is None and r.deleted_at is None), None)
    picker = picker_state(request) if standing is not None else None
    if picker is None or picker.campaign is None or standing.rectified_on <= picker.as_of:
        return None
    campaign = picker.campaign
    return {
        "outside": standing.rectified_on > campaign.end,
        "day": standing.rectified_on,
        "campaign": campaign,
        "as_of": picker.as_of,
    }


def _timeline(unit, rectifications, relapses, latest, last_withdrawn, checks=()):
    """Identification, findings, rectifications and relapses in date order, withdrawn ones included.

    On one day a relapse comes before a re-rectification (see enterprises/services.py), and the
    inspection finding that found it before the relapse. Only the latest standing rectification or
    relapse may be withdrawn, and only the last withdrawal undone.
    """
    events = [("identified", unit.identified_on, 0, unit.created_at, unit)]
    events += [(RELAPSE, r.found_on, 1.5, r.created_at, r) for r in relapses]
    events += [(RECTIFICATION, r.rectified_on, 2.5, r.created_at, r) for r in rectifications]
    events += list(checks)
    events.sort(key=lambda e: (e[1], e[2], str(e[3])))
    return [
        {
            "kind": kind,
            "date": day,
            "item": item,
            "withdrawable": latest is not None and latest == (kind, item),
            "reinstatable": item is last_withdrawn,
        }
        for kind, day, _order, _at, item in events
    ]


def _history_records(unit, rectifications, relapses):
    """The history rows of the unit and of its rectifications and relapses, where it has any (1–3
    queries)."""
    records = list(history_model(Enterprise).objects.filter(id=unit.pk))
    if rectifications:
        records += history_model(Rectification).objects.filter(enterprise_id=unit.pk)
    if relapses:
        records += history_model(Relapse).objects.filter(enterprise_id=unit.pk)
    return records


@allow(get=ALL_ROLES)
@login_required
def rectification_photo(request, pk, photo_pk):
    """Evidence photos are served to signed-in users only (never from a public media URL)."""
    unit = _readable_unit(request, pk)
    photo = get_object_or_404(RectificationPhoto, pk=photo_pk, rectification__enterprise=unit)
    return private_photo(photo.image)


@allow(get=CITY_ADMIN_ONLY)
@login_required
def deleted_list(request):
    """Deleted units, latest first, with who deleted them and why; a city admin restores them here."""
    if not is_city_admin(request.user):
        raise PermissionDenied
    units = (
        scoped_units(request.user, with_deleted=True)
        .filter(deleted_at__isnull=False)
        .select_related("deleted_by")
        .order_by("-deleted_at", "-id")
    )
    page = Paginator(units, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "enterprises/deleted_list.html", {"page": page})


# --- writing -------------------------------------------------------------------------------------


@allow(get=WRITERS, post=WRITERS)
@login_required
def unit_create(request):
    if not can_write_unit(request.user):
        raise PermissionDenied
    form = EnterpriseForm(request.POST or None, user=request.user, **_picked(request))
    if request.method == "POST" and form.is_valid():
        # None when the register holds the unit already: the form then says so and links to it.
        unit = form.save(user=request.user)
        if unit is not None:
            messages.success(request, _("已登记四无单位“%(name)s”") % {"name": unit.name})
            return redirect(unit.get_absolute_url() + _kept_query(request))
    return render(request, "enterprises/unit_form.html", {"form": form, "unit": None})


@allow(get=WRITERS, post=WRITERS)
@login_required
def unit_edit(request, pk):
    unit = _writable_unit(request, pk)
    picked = _picked(request)
    form = EnterpriseForm(request.POST or None, instance=unit, user=request.user, **picked)
    conflict = merge = None
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save(user=request.user)
        except StaleEdit as stale:
            current = Enterprise.objects.select_related("township", "village").get(pk=unit.pk)
            if current.is_deleted:
                messages.error(request, _("保存失败：该单位已被他人删除"))
                return redirect("enterprises:list")
            # Show what the other person changed; keep what this user typed and merge the rest,
            # so that the next save loses neither person's input.
            conflict = changes_since_version(
                Enterprise, unit.pk, stale.version, full_personal_data=True, known=[current.township, current.village]
            )
            baseline = history_of(Enterprise, unit.pk).filter(version=stale.version).last()
            mine = form.instance
            form = EnterpriseForm(request.POST, instance=current, user=request.user, **picked)
            taken, clashes = form.rebase(mine=mine, current=current, baseline=baseline)
            merge = {"taken": taken, "clashes": clashes}
            unit = current
        else:
            if saved is not None:
                messages.success(request, _("已保存“%(name)s”的修改") % {"name": unit.name})
                return redirect(unit.get_absolute_url() + _kept_query(request))
            # The edit made it the same unit as another: the form says so and links to that one.
            unit = Enterprise.objects.select_related("township", "village").get(pk=unit.pk)
    elif request.method == "GET" and (unit.owner or unit.phone):
        # The form shows the owner's full name and phone.
        record_personal_data_view(request, unit, via="edit")
    context = {"form": form, "unit": unit, "conflict": conflict, "merge": merge}
    return render(request, "enterprises/unit_form.html", context)


@allow(get=WRITERS, post=WRITERS)
@login_required
def unit_rectify(request, pk):
    unit = _writable_unit(request, pk)
    if request.method == "GET" and unit.status == Status.RECTIFIED:
        messages.info(request, _("该单位已整治；如发现死灰复燃，请先登记复发"))
        return redirect(unit)
    form = RectificationForm(request.POST or None, request.FILES or None, enterprise=unit, **_picked(request))
    if request.method == "POST" and form.is_valid():
        # The record and its photos land together, or nothing is saved (core/storage.py).
        saved, stored = save_with_files(
            lambda: form.save(user=request.user),
            form,
            refusal=_("照片未能保存（服务器存储空间不足或暂时无法写入），本次整治未登记，请稍后重试或联系管理员。"),
            log=("evidence photos for unit %s could not be stored", unit.pk),
        )
        if not stored:
            context = {"form": form, "unit": unit}
            return render(request, "enterprises/rectification_form.html", context, status=503)
        if saved:
            messages.success(request, _("已登记“%(name)s”的整治情况") % {"name": unit.name})
            return redirect(unit.get_absolute_url() + _kept_query(request))
    return render(request, "enterprises/rectification_form.html", {"form": form, "unit": unit})


@allow(get=WRITERS, post=WRITERS)
@login_required
def unit_relapse(request, pk):
    unit = _writable_unit(request, pk)
    if request.method == "GET" and unit.status != Status.RECTIFIED:
        messages.info(request, _("该单位当前不是已整治状态，无需登记死灰复燃"))
        return redirect(unit)
    form = RelapseForm(request.POST or None, enterprise=unit, **_picked(request))
    if request.method == "POST" and form.is_valid() and form.save(user=request.user):
        messages.warning(request, _("已登记“%(name)s”死灰复燃，该单位恢复为未整治") % {"name": unit.name})
        return redirect(unit.get_absolute_url() + _kept_query(request))
    return render(request, "enterprises/relapse_form.html", {"form": form, "unit": unit})


@allow(get=WRITERS, post=WRITERS)
@login_required
def unit_delete_view(request, pk):
    """删除: asks why; the unit leaves the register and every count until a city admin restores it."""
    unit = _writable_unit(request, pk)
    form = ReasonForm(request.POST or None, label=_("删除原因"))
    if request.method == "POST" and form.is_valid():
        try:
            unit_delete(enterprise=unit, user=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("已删除“%(name)s”；如需恢复，请联系市级管理员") % {"name": unit.name})
            return redirect("enterprises:list")
    return render(request, "enterprises/unit_delete.html", {"form": form, "unit": unit})


@allow(get=WRITERS, post=WRITERS)
@login_required
def unit_undelete_view(request, pk):
    """Undo a deletion (POST from the deleted units list or the deleted unit's page)."""
    unit = _writable_unit(request, pk, deleted=True)
    if request.method == "POST":
        try:
            unit_undelete(enterprise=unit, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("已恢复“%(name)s”") % {"name": unit.name})
    return redirect(unit)


def _event_or_404(unit, kind, event_pk):
    model = EVENT_MODELS.get(kind)
    if model is None:
        raise Http404
    return get_object_or_404(model.objects.select_related("created_by"), pk=event_pk, enterprise=unit)


@allow(get=WRITERS, post=WRITERS)
@login_required
def event_withdraw_view(request, pk, kind, event_pk):
    """撤回 a mistaken rectification or relapse (the latest one only), with a reason."""
    unit = _writable_unit(request, pk)
    event = _event_or_404(unit, kind, event_pk)
    form = ReasonForm(request.POST or None, label=_("撤回原因"))
    if request.method == "POST" and form.is_valid():
        try:
            event_withdraw(
                enterprise=unit, kind=kind, pk=event.pk, user=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if kind == RELAPSE:
                text = _("已撤回“%(name)s”的死灰复燃记录，该单位恢复为已整治")
            else:
                text = _("已撤回“%(name)s”的整治记录，该单位恢复为未整治")
            messages.success(request, text % {"name": unit.name})
            return redirect(unit)
    return render(
        request, "enterprises/event_withdraw.html", {"form": form, "unit": unit, "event": event, "kind": kind}
    )


@allow(get=WRITERS, post=WRITERS)
@login_required
def event_reinstate_view(request, pk, kind, event_pk):
    """Undo a withdrawal, if the event still fits (POST from the unit page)."""
    unit = _writable_unit(request, pk)
    event = _event_or_404(unit, kind, event_pk)
    if request.method == "POST":
        try:
            event_reinstate(enterprise=unit, kind=kind, pk=event.pk, user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("已恢复该条记录"))
    return redirect(unit)
