"""Indicators in the browser (SPEC 5): a campaign's indicators, their targets and their records.

City admins define indicators (``rectified`` first, then as created), edit them and the campaign's
赛马 settings, and revise each indicator's township targets. The records of an indicator that is not
built in are entered, corrected and imported by city admins for any township and by township staff
for their own; every role reads them in its scope. A records file is checked on upload and shown
as a preview; the checked rows travel signed (SECRET_KEY) to the confirmation, which writes them
all or none (``campaign.indicators.apply_records``: the same township and name are the same record,
so confirming twice writes nothing twice).
"""

import datetime
from decimal import Decimal

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core import params
from core.access import (
    ALL_ROLES,
    CITY_ADMIN_ONLY,
    WRITERS,
    Role,
    allow,
    get_scoped_or_404,
    role_of,
    scope_by_township,
    scope_townships,
    township_id_of,
)
from core.audit import describe, history_of
from core.tabular import Issue, TableError, max_file_bytes

from . import indicators as service
from .forms import IndicatorCreateForm, IndicatorEditForm, IndicatorRecordForm, IndicatorTargetForm, ScoringForm
from .models import RECTIFIED, BuiltIn, Campaign, Indicator, IndicatorRecord, IndicatorTarget, Township

ADMIN = allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
PAGE_SIZE = 50
PREVIEW_ROWS = 200
SHOWN_ERRORS = 500
TOKEN_SALT = "campaign.indicator-records"
TOKEN_MAX_AGE = 6 * 3600  # a preview left open for a working day is still confirmable
TOKEN_MAX_BYTES = 2_000_000  # under Django's DATA_UPLOAD_MAX_MEMORY_SIZE for the confirming POST


def _campaign(slug):
    return get_object_or_404(Campaign, slug=slug)


def _indicator(campaign, key):
    return get_object_or_404(Indicator.objects.select_related("campaign"), campaign=campaign, key=key)


def _recorded(campaign, key):
    """An indicator whose records are imported or entered: not built in (else 404)."""
    indicator = _indicator(campaign, key)
    if service.records_refusal(indicator):
        raise Http404(service.records_refusal(indicator))
    return indicator


def _is_admin(user):
    return role_of(user) == Role.CITY_ADMIN


# --- the campaign's indicators -------------------------------------------------------------------


@ADMIN
def indicator_list(request, slug):
    campaign = _campaign(slug)
    rows = service.indicator_rows(campaign)
    counts = dict(
        IndicatorRecord.objects.filter(indicator__campaign=campaign)
        .values_list("indicator_id")
        .annotate(n=Count("id"))
        .values_list("indicator_id", "n")
    )
    for row in rows:
        row.records = counts.get(row.indicator.pk, 0) if row.indicator else None
    return render(request, "campaign/indicator_list.html", {"campaign": campaign, "rows": rows})


@ADMIN
def indicator_create(request, slug):
    campaign = _campaign(slug)
    form = IndicatorCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            indicator = service.indicator_create(
                campaign,
                data["key"],
                data["target"],
                name=data["name"],
                unit=data["unit"],
                weight=data["weight"],
                milestones=data["milestones"].strip() or None,
                user=request.user,
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("已新增考核指标“%(name)s”。") % {"name": indicator.name})
            return redirect("manage:indicators", slug=campaign.slug)
    return render(
        request, "campaign/indicator_form.html", {"campaign": campaign, "form": form, "built_in": BuiltIn.choices}
    )


def _errors_to_form(form, exc):
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@ADMIN
def indicator_edit(request, slug, key):
    campaign = _campaign(slug)
    indicator = _indicator(campaign, key)
    initial = {"name": indicator.name, "unit": indicator.unit, "target": indicator.target, "weight": indicator.weight}
    form = IndicatorEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service.indicator_update(
                indicator,
                name=data["name"],
                unit=data["unit"],
                weight=data["weight"],
                target=data["target"],
                user=request.user,
                reason=data["reason"].strip(),
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("已保存考核指标“%(name)s”。") % {"name": data["name"]})
            return redirect("manage:indicators", slug=campaign.slug)
    history = describe(list(history_of(Indicator, indicator.pk)), known=[campaign])
    return render(
        request,
        "campaign/indicator_form.html",
        {"campaign": campaign, "form": form, "indicator": indicator, "history": history},
    )


@ADMIN
def scoring_edit(request, slug):
    campaign = _campaign(slug)
    initial = {"rectified_weight": campaign.rectified_weight, "score_cap": campaign.score_cap}
    form = ScoringForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            service.campaign_scoring_update(
                campaign,
                rectified_weight=data["rectified_weight"],
                score_cap=data["score_cap"],
                user=request.user,
                reason=data["reason"].strip(),
            )
        except ValidationError as exc:
            _errors_to_form(form, exc)
        else:
            messages.success(request, _("已保存“%(name)s”的赛马计分设置。") % {"name": campaign.name})
            return redirect("manage:indicators", slug=campaign.slug)
    return render(request, "campaign/indicator_scoring.html", {"campaign": campaign, "form": form})


# --- an indicator's township targets --------------------------------------------------------------


@ADMIN
def indicator_targets(request, slug, key):
    """Each township's target of the indicator in force today (within the year) and every revision."""
    campaign = _campaign(slug)
    if key == RECTIFIED:
        return redirect("manage:targets", slug=campaign.slug)
    indicator = _indicator(campaign, key)
    day = campaign.clamp(timezone.localdate())
    rows = {}
    city = {"township": None, "current": indicator.target, "revisions": []}
    targets = (
        IndicatorTarget.objects.filter(indicator=indicator)
        .select_related("township", "created_by")
        .order_by("township__sort_order", "township__name", "effective_on")
    )
    for target in targets:
        if target.township_id is None:
            row = city
        else:
            row = rows.setdefault(target.township_id, {"township": target.township, "current": None, "revisions": []})
        row["revisions"].append(target)
        if target.effective_on <= day:
            row["current"] = target.target
    missing = Township.objects.filter(is_active=True).exclude(pk__in=rows)
    context = {
        "campaign": campaign,
        "indicator": indicator,
        "day": day,
        "city": city,
        "rows": list(rows.values()),
        "missing": missing,
    }
    return render(request, "campaign/indicator_targets.html", context)


@ADMIN
def indicator_target_add(request, slug, key):
    campaign = _campaign(slug)
    if key == RECTIFIED:
        return redirect("manage:target_add", slug=campaign.slug)
    indicator = _indicator(campaign, key)
    initial = {"effective_on": campaign.clamp(timezone.localdate())}
    township = params.id_or_none(request.GET.get("township"))
    if township:
        initial["township"] = township
    form = IndicatorTargetForm(request.POST or None, indicator=indicator, initial=initial)
    if request.method == "POST" and form.is_valid():
        target = form.save(user=request.user)
        who = target.township.name if target.township_id else _("全市")
        messages.success(
            request,
            _("已登记%(who)s“%(indicator)s”年度目标 %(target)d，自 %(day)s 起生效。")
            % {
                "who": who,
                "indicator": indicator.name,
                "target": target.target,
                "day": target.effective_on.isoformat(),
            },
        )
        return redirect("manage:indicator_targets", slug=campaign.slug, key=indicator.key)
    return render(
        request, "campaign/indicator_target_form.html", {"campaign": campaign, "indicator": indicator, "form": form}
    )


# --- records of an indicator that is not built in ------------------------------------------------


@allow(get=ALL_ROLES)
def records_home(request):
    """The indicators whose records are kept here, of every campaign (newest first)."""
    custom = (
        Indicator.objects.exclude(key__in=BuiltIn.values)
        .select_related("campaign")
        .order_by("-campaign__start", "campaign__slug", "id")
    )
    return render(request, "campaign/indicator_records_home.html", {"indicators": custom})


@allow(get=ALL_ROLES)
def record_list(request, slug, key):
    campaign = _campaign(slug)
    indicator = _recorded(campaign, key)
    records = scope_by_township(request.user, indicator.records.all())
    townships = scope_townships(request.user, Township.objects.all())
    township = params.id_or_none(request.GET.get("township"))
    if township:
        records = records.filter(township_id=township)
    total = records.aggregate(total=Sum("amount"))["total"] or Decimal("0")
    records = records.select_related("township").order_by("-date", "-id")
    page = Paginator(records, PAGE_SIZE).get_page(params.id_or_none(request.GET.get("page")))
    context = {
        "campaign": campaign,
        "indicator": indicator,
        "page": page,
        "total": total,
        "townships": townships,
        "township": township,
        "may_write": role_of(request.user) in WRITERS,
    }
    return render(request, "campaign/indicator_records.html", context)


def _writable_townships(user):
    return scope_townships(user, Township.objects.filter(is_active=True))


@allow(get=WRITERS, post=WRITERS)
def record_add(request, slug, key):
    campaign = _campaign(slug)
    indicator = _recorded(campaign, key)
    form = IndicatorRecordForm(
        request.POST or None,
        indicator=indicator,
        townships=_writable_townships(request.user),
        initial={"date": campaign.clamp(timezone.localdate()), "amount": Decimal("1")},
    )
    if request.method == "POST" and form.is_valid():
        record = service.record_save(form.save(commit=False), user=request.user, reason=_("录入指标记录"))
        messages.success(request, _("已录入“%(name)s”。") % {"name": record.name})
        return redirect("manage:indicator_records", slug=campaign.slug, key=indicator.key)
    return render(
        request,
        "campaign/indicator_record_form.html",
        {"campaign": campaign, "indicator": indicator, "form": form, "record": None},
    )


@allow(get=WRITERS, post=WRITERS)
def record_edit(request, pk):
    """Correct a record (township staff: their own township's only; others answer 404)."""
    record = get_scoped_or_404(
        request.user, IndicatorRecord.objects.select_related("indicator__campaign", "township"), pk=pk
    )
    indicator, campaign = record.indicator, record.indicator.campaign
    townships = _writable_townships(request.user) | Township.objects.filter(pk=record.township_id)
    form = IndicatorRecordForm(request.POST or None, instance=record, indicator=indicator, townships=townships)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data.get("reason", "").strip() or _("更正指标记录")
        service.record_save(form.save(commit=False), user=request.user, reason=reason)
        messages.success(request, _("已保存“%(name)s”。") % {"name": record.name})
        return redirect("manage:indicator_records", slug=campaign.slug, key=indicator.key)
    history = describe(list(history_of(IndicatorRecord, record.pk)), known=[record.township, indicator])
    return render(
        request,
        "campaign/indicator_record_form.html",
        {"campaign": campaign, "indicator": indicator, "form": form, "record": record, "history": history},
    )


# --- importing records: upload, preview, confirm --------------------------------------------------


def _allowed_township_ids(user):
    """None (any township) for a city admin; the staff member's own township otherwise."""
    if _is_admin(user):
        return None
    own = township_id_of(user)
    return {own} if own else set()


@allow(get=WRITERS, post=WRITERS)
def record_import(request, slug, key):
    campaign = _campaign(slug)
    indicator = _recorded(campaign, key)
    context = {"campaign": campaign, "indicator": indicator, "max_mb": max_file_bytes() // (1024 * 1024)}
    if request.method != "POST":
        return render(request, "campaign/indicator_import.html", context)
    upload = request.FILES.get("file")
    if upload is None:
        return _import_refused(request, context, [Issue(_("请选择要导入的文件"))], status=400)
    context["file_name"] = upload.name
    if upload.size > max_file_bytes():
        message = _("文件超过%(max)d MB 的上限，请拆分成几个文件分批导入") % {"max": context["max_mb"]}
        return _import_refused(request, context, [Issue(message)], status=413)
    try:
        plan = service.parse_records(upload.read(), indicator, allowed_township_ids=_allowed_township_ids(request.user))
    except TableError as exc:  # parse_records catches it; kept for any reader that raises late
        plan = service.RecordPlan(errors=exc.issues)
    if plan.errors:
        return _import_refused(request, context, plan.errors, status=422)
    if not plan.rows:
        return _import_refused(request, context, [Issue(_("文件中没有数据行"))], status=422)
    token = signing.dumps(
        {"i": indicator.pk, "u": request.user.pk, "f": upload.name, "rows": [_packed(row) for row in plan.rows]},
        salt=TOKEN_SALT,
        compress=True,
    )
    if len(token) > TOKEN_MAX_BYTES:
        message = _("文件行数过多，无法在网页上一次确认，请拆分成几个文件，或由管理员用命令 import_records 导入")
        return _import_refused(request, context, [Issue(message)], status=413)
    context.update(
        {
            "plan": plan,
            "rows": plan.rows[:PREVIEW_ROWS],
            "token": token,
            "changes": plan.count("create") + plan.count("update"),
        }
    )
    return render(request, "campaign/indicator_import_preview.html", context)


def _import_refused(request, context, errors, *, status):
    context = {
        **context,
        "errors": [str(issue) for issue in errors[:SHOWN_ERRORS]],
        "error_count": len(errors),
    }
    return render(request, "campaign/indicator_import.html", context, status=status)


def _packed(row):
    return [row.number, row.township_id, row.township, row.name, row.date.isoformat(), str(row.amount), row.note]


def _unpacked(values):
    number, township_id, township, name, day, amount, note = values
    return service.RecordRow(
        number, township_id, township, name, datetime.date.fromisoformat(day), Decimal(amount), note
    )


@allow(post=WRITERS)
def record_import_confirm(request, slug, key):
    campaign = _campaign(slug)
    indicator = _recorded(campaign, key)
    back = redirect("manage:indicator_import", slug=campaign.slug, key=indicator.key)
    try:
        data = signing.loads(request.POST.get("token", ""), salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
        if data["i"] != indicator.pk or data["u"] != request.user.pk:
            raise signing.BadSignature("another indicator's or user's preview")
        rows = [_unpacked(values) for values in data["rows"]]
    except signing.SignatureExpired:
        messages.error(request, _("预览已过期，请重新上传文件。"))
        return back
    except (signing.BadSignature, KeyError, TypeError, ValueError, ArithmeticError):
        messages.error(request, _("无法确认：预览数据无效，请重新上传文件。"))
        return back
    allowed = _allowed_township_ids(request.user)
    known = set(Township.objects.filter(pk__in={row.township_id for row in rows}).values_list("pk", flat=True))
    refused = [
        row for row in rows if row.township_id not in known or (allowed is not None and row.township_id not in allowed)
    ]
    if refused:
        messages.error(request, _("无法确认：文件中的乡镇（街道）已变化，请重新上传文件。未写入任何数据。"))
        return back
    plan = service.apply_records(service.RecordPlan(rows=rows), indicator, user=request.user)
    messages.success(
        request, _("导入完成（%(file)s）：%(summary)s") % {"file": data.get("f", ""), "summary": plan.summary()}
    )
    return redirect("manage:indicator_records", slug=campaign.slug, key=indicator.key)
