"""Weekly notices, interviews and quarterly assessments in the browser.

Every role reads the notices and assessments (SPEC 4: city viewers read everything, township staff
read city-wide rankings, and an issued notice is city-wide, whatever it says of a township). An
interview is a township's record: township staff read their own township's interviews only
(another's answers 404, logged); what a notice says of interviews is in the notice itself.
City admins issue notices, record interviews and commitments, and freeze assessments. Archived
files are served from storage exactly as they were issued.
"""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from campaign.context_processors import picker_state
from core import params
from core.access import ALL_ROLES, CITY_ADMIN_ONLY, allow, get_scoped_or_404, is_city_admin, scope_queryset
from core.csp import as_document

from ..models import Assessment, Commitment, Interview, Notice, NoticeSettings
from ..progress import ReportError
from . import content as notice  # aliased: ``content`` is the local name of a content dict here
from . import format as fmt
from . import html
from .forms import AssessmentForm, CommitmentForm, FollowUpForm, InterviewForm, NoticeSettingsForm

CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
}
DRAFT_FORMATS = ("docx", "xlsx", "html")


def _campaign(request):
    picker = picker_state(request)
    if picker.campaign is None:
        raise Http404(_("还没有整治行动"))
    return picker


def _body(content):
    """The notice body as the documents have it: always in Chinese, whatever the page's language."""
    with translation.override(notice.DOCUMENT_LANGUAGE):
        return mark_safe(render_to_string("reports/notice_body.html", html.context(content)))  # noqa: S308  # nosec B308, B703  # an autoescaping template


def _file_name(content, ext):
    return f"{fmt.title(content)}{fmt.serial_text(content)}{'（草稿）' if content['draft'] else ''}.{ext}".replace(
        "“", ""
    ).replace("”", "")


def _download(data, content, ext):
    """``data``: the bytes of a draft, or an archived file opened from storage (sent as stored)."""
    if isinstance(data, bytes):
        data = io.BytesIO(data)
    if ext == "html":  # the printable page opens in the browser, ready to print
        return as_document(FileResponse(data, content_type=CONTENT_TYPES[ext]))
    return FileResponse(data, as_attachment=True, filename=_file_name(content, ext), content_type=CONTENT_TYPES[ext])


# --- notices -------------------------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def notice_list(request):
    picker = _campaign(request)
    notices = Notice.objects.filter(campaign=picker.campaign).select_related("issued_by").order_by("-serial")
    context = {
        "campaign": picker.campaign,
        "as_of": picker.as_of,
        "notices": list(notices.defer("figures")),
        "config": NoticeSettings.for_campaign(picker.campaign),
        "can_issue": is_city_admin(request.user),
    }
    return render(request, "reports/notice_list.html", context)


@allow(get=ALL_ROLES)
@login_required
def notice_preview(request):
    picker = _campaign(request)
    issued = Notice.objects.filter(campaign=picker.campaign, as_of=picker.as_of).only("pk", "serial").first()
    # The same rule the issuing applies: a day that cannot be issued offers no button and says why,
    # and its draft promises no serial.
    refusal = notice.issue_refusal(picker.campaign, picker.as_of, timezone.localdate(), issued=issued)
    content = notice.draft_content(picker.campaign, picker.as_of, numbered=refusal is None)
    context = {
        "campaign": picker.campaign,
        "as_of": picker.as_of,
        "content": content,
        "body": _body(content),
        "issued": issued,
        "refusal": None if issued else refusal,
        "is_city_admin": is_city_admin(request.user),
        "can_issue": is_city_admin(request.user) and issued is None and refusal is None,
        "formats": DRAFT_FORMATS,
    }
    return render(request, "reports/notice_preview.html", context)


@allow(get=ALL_ROLES)
@login_required
def draft_download(request, fmt):
    if fmt not in DRAFT_FORMATS:
        raise Http404(_("不支持的格式"))
    picker = _campaign(request)
    refusal = notice.issue_refusal(picker.campaign, picker.as_of, timezone.localdate())
    content = notice.draft_content(picker.campaign, picker.as_of, numbered=refusal is None)
    return _download(notice.render(content, fmt), content, fmt)


@allow(post=CITY_ADMIN_ONLY)
@login_required
def notice_issue(request):
    picker = _campaign(request)
    try:
        as_of = params.day(request.POST.get("as_of"))
        serial = params.integer(request.POST.get("serial"), minimum=1)
    except params.BadParameter:
        as_of = serial = None
    if as_of is None:
        messages.error(request, _("截至日期无效"))
        return redirect(reverse("notices:list") + f"?{picker.query}")
    back = reverse("notices:preview") + f"?campaign={picker.campaign.slug}&as_of={as_of.isoformat()}"
    if request.POST.get("confirm") != "on":
        # Issuing numbers and archives the notice for good: it takes an explicit confirmation.
        messages.error(request, _("请先勾选确认：发布后通报不能撤回或修改"))
        return redirect(back)
    try:
        issued = notice.notice_issue(campaign=picker.campaign, as_of=as_of, user=request.user, expected_serial=serial)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect(back)
    messages.success(request, _("已发布%(notice)s") % {"notice": issued})
    return redirect(issued)


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
@login_required
def notice_settings(request):
    picker = _campaign(request)
    form = NoticeSettingsForm(
        request.POST or None, request.FILES or None, instance=NoticeSettings.for_campaign(picker.campaign)
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已保存通报设置"))
        return redirect(reverse("notices:list") + f"?campaign={picker.campaign.slug}")
    context = {
        "form": form,
        "title": _("通报设置"),
        "intro": picker.campaign.name,
        "back": reverse("notices:list"),
        "submit": _("保存"),
    }
    return render(request, "reports/notice_form.html", context)


@allow(get=ALL_ROLES)
@login_required
def notice_detail(request, pk):
    issued = get_object_or_404(Notice.objects.select_related("campaign", "issued_by"), pk=pk)
    context = {"notice": issued, "content": issued.figures, "body": _body(issued.figures)}
    return render(request, "reports/notice_detail.html", context)


@allow(get=ALL_ROLES)
@login_required
def notice_download(request, pk, fmt):
    if fmt not in DRAFT_FORMATS:
        raise Http404(_("不支持的格式"))
    issued = get_object_or_404(Notice, pk=pk)
    field, _sha = issued.stored(fmt)
    return _download(field.open("rb"), issued.figures, fmt)


# --- interviews ----------------------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def interview_list(request):
    picker = _campaign(request)
    interviews = (
        scope_queryset(request.user, Interview.objects.filter(campaign=picker.campaign))
        .select_related("township", "notice")
        .annotate(
            commitment_count=Count("commitments"),
            unmet=Count("commitments", filter=Q(commitments__met_on__isnull=True)),
        )
    )
    context = {"campaign": picker.campaign, "interviews": list(interviews), "can_edit": is_city_admin(request.user)}
    return render(request, "reports/interview_list.html", context)


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
@login_required
def interview_create(request):
    picker = _campaign(request)
    initial = {
        "township": params.id_or_none(request.GET.get("township")),
        "notice": params.id_or_none(request.GET.get("notice")),
    }
    form = InterviewForm(request.POST or None, initial=initial, campaign=picker.campaign)
    if request.method == "POST" and form.is_valid():
        interview = form.save(commit=False)
        interview.campaign, interview.created_by = picker.campaign, request.user
        interview.save()
        messages.success(request, _("已登记约谈，请继续登记承诺事项"))
        return redirect(interview)
    context = {
        "form": form,
        "title": _("登记约谈"),
        "intro": picker.campaign.name,
        "back": reverse("notices:interviews"),
        "submit": _("保存"),
    }
    return render(request, "reports/interview_form.html", context)


@allow(get=ALL_ROLES)
@login_required
def interview_detail(request, pk):
    interview = get_scoped_or_404(
        request.user, Interview.objects.select_related("township", "notice", "campaign"), pk=pk
    )
    context = {
        "interview": interview,
        "commitments": list(interview.commitments.all()),
        "today": timezone.localdate(),
        "can_edit": is_city_admin(request.user),
        "form": CommitmentForm(),
    }
    return render(request, "reports/interview_detail.html", context)


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
@login_required
def commitment_create(request, pk):
    interview = get_object_or_404(Interview.objects.select_related("township"), pk=pk)
    form = CommitmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        commitment = form.save(commit=False)
        commitment.interview = interview
        commitment.save()
        messages.success(request, _("已登记承诺事项"))
        return redirect(interview)
    context = {"form": form, "title": _("登记承诺事项"), "intro": str(interview), "back": interview.get_absolute_url()}
    return render(request, "reports/interview_form.html", context | {"submit": _("保存")})


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
@login_required
def commitment_follow_up(request, pk):
    commitment = get_object_or_404(Commitment.objects.select_related("interview__township"), pk=pk)
    form = FollowUpForm(request.POST or None, instance=commitment)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("已更新跟踪情况"))
        return redirect(commitment.interview)
    context = {
        "form": form,
        "title": _("跟踪承诺落实"),
        "intro": commitment.text,
        "back": commitment.interview.get_absolute_url(),
        "submit": _("保存"),
    }
    return render(request, "reports/interview_form.html", context)


# --- quarterly assessments -----------------------------------------------------------------------


@allow(get=ALL_ROLES)
@login_required
def assessment_list(request):
    picker = _campaign(request)
    frozen = {a.milestone_date: a for a in Assessment.objects.filter(campaign=picker.campaign).defer("figures")}
    milestones = [(m, frozen.get(m.date)) for m in picker.campaign.milestones.order_by("date")]
    context = {"campaign": picker.campaign, "milestones": milestones, "today": timezone.localdate()}
    return render(request, "reports/assessment_list.html", context)


@allow(get=ALL_ROLES, post=CITY_ADMIN_ONLY)
@login_required
def assessment_preview(request):
    picker = _campaign(request)
    try:
        day = params.day(request.GET.get("date"))
    except params.BadParameter:
        day = None
    if day is None:
        raise Http404(_("节点日期无效"))
    form = AssessmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            frozen = notice.assessment_freeze(
                campaign=picker.campaign, milestone_date=day, verdict=form.cleaned_data["verdict"], user=request.user
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, _("已发布%(what)s") % {"what": frozen})
            return redirect(frozen)
    try:
        content = notice.assessment_content(
            picker.campaign, day, form.data.get("verdict", "") if form.is_bound else "", draft=True
        )
    except ReportError as exc:
        raise Http404(str(exc)) from None
    frozen = Assessment.objects.filter(campaign=picker.campaign, milestone_date=day).only("pk").first()
    context = {
        "campaign": picker.campaign,
        "day": day,
        "body": _body(content),
        "form": form,
        "frozen": frozen,
        "can_freeze": is_city_admin(request.user) and frozen is None and day <= timezone.localdate(),
    }
    return render(request, "reports/assessment_preview.html", context)


@allow(get=ALL_ROLES)
@login_required
def assessment_detail(request, pk):
    frozen = get_object_or_404(Assessment.objects.select_related("campaign", "issued_by"), pk=pk)
    return render(request, "reports/assessment_detail.html", {"assessment": frozen, "body": _body(frozen.figures)})


@allow(get=ALL_ROLES)
@login_required
def assessment_download(request, pk, fmt):
    if fmt not in DRAFT_FORMATS:
        raise Http404(_("不支持的格式"))
    frozen = get_object_or_404(Assessment, pk=pk)
    field, _sha = frozen.stored(fmt)
    return _download(field.open("rb"), frozen.figures, fmt)
