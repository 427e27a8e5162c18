"""审计: the history of any tracked object, for city admins, and restoring an earlier version.

Restoring is a new save with the old values (core.audit.restore_version), so it is itself in
the history, by the admin who did it, with the reason "恢复到…".
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .access import CITY_ADMIN_ONLY, allow, is_city_admin, log_denial
from .audit import (
    describe,
    history_model,
    history_of,
    model_for_key,
    model_key,
    recent_changes,
    restore_refusal,
    restore_version,
    tracked_models,
)


def _require_city_admin(request):
    # The access policy says the same; this keeps the page closed even where it is not enforced.
    if not is_city_admin(request.user):
        log_denial(request.user, "audit pages are for city admins")
        raise PermissionDenied


def _model_or_404(key):
    model = model_for_key(key)
    if model is None:
        raise Http404
    return model


class PickForm(forms.Form):
    model = forms.ChoiceField(label=gettext_lazy("对象类型"), required=False)
    pk = forms.IntegerField(label=gettext_lazy("编号"), required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        choices = [(model_key(m), m._meta.verbose_name) for m in tracked_models()]
        self.fields["model"].choices = [("", _("全部"))] + choices


@allow(get=CITY_ADMIN_ONLY)
@login_required
def audit_index(request):
    """The latest changes (of one kind of object, or of all); with a number, that object's history."""
    _require_city_admin(request)
    form = PickForm(request.GET or None)
    model = None
    if form.is_valid():
        model = model_for_key(form.cleaned_data["model"]) if form.cleaned_data["model"] else None
        if model is not None and form.cleaned_data["pk"]:
            return redirect("audit:object", model=model_key(model), pk=form.cleaned_data["pk"])
    entries = describe(recent_changes(model))
    label = model._meta.verbose_name if model is not None else ""
    return render(request, "audit/index.html", {"form": form, "entries": entries, "model_label": label})


@allow(get=CITY_ADMIN_ONLY)
@login_required
def object_history(request, model, pk):
    _require_city_admin(request)
    tracked = _model_or_404(model)
    records = list(history_of(tracked, pk))
    if not records:
        raise Http404
    entries = describe(records)
    refusal = restore_refusal(tracked)
    latest = records[-1]
    if refusal is None:
        for entry in entries:
            record = entry.record
            # The newest version is the object as it is; a deletion row holds no version to go back to.
            if record.history_id != latest.history_id and record.history_type != "-":
                entry.restore_url = reverse(
                    "audit:restore", kwargs={"model": model, "pk": pk, "history_id": record.history_id}
                )
    current = tracked._base_manager.filter(pk=pk).first()
    context = {
        "model_label": tracked._meta.verbose_name,
        "model_key": model,
        "pk": pk,
        "current": current,
        "current_url": current.get_absolute_url() if hasattr(current, "get_absolute_url") else "",
        "entries": entries,
        "refusal": refusal,
    }
    return render(request, "audit/object.html", context)


@allow(get=CITY_ADMIN_ONLY, post=CITY_ADMIN_ONLY)
@login_required
def restore(request, model, pk, history_id):
    _require_city_admin(request)
    tracked = _model_or_404(model)
    record = get_object_or_404(history_model(tracked), history_id=history_id, **{tracked._meta.pk.attname: pk})
    if request.method == "POST":
        try:
            restore_version(record, user=request.user)
        except ValidationError as exc:
            messages.error(request, _("无法恢复：%(reason)s") % {"reason": " ".join(exc.messages)})
        else:
            messages.success(
                request,
                _("已恢复到 %(when)s 的版本")
                % {"when": f"{timezone.localtime(record.history_date):%Y-%m-%d %H:%M:%S}"},
            )
    return redirect("audit:object", model=model, pk=pk)
