"""Filters of the inspection and finding lists. The queryset is scoped to the user before they run."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaign.models import Township
from core.access import scope_townships
from enterprises.forms import FilterForm

from .models import Finding, FindingKind, FindingState, Inspection, Kind


class _ScopedTownships:
    def __init__(self, data=None, queryset=None, *, user, **kwargs):
        super().__init__(data, queryset, **kwargs)
        townships = Township.objects.order_by("sort_order", "name")
        self.filters["township"].queryset = scope_townships(user, townships)


class InspectionFilterSet(_ScopedTownships, django_filters.FilterSet):
    township = django_filters.ModelChoiceFilter(queryset=Township.objects.none(), label=_("乡镇(街道)"))
    kind = django_filters.ChoiceFilter(choices=Kind.choices, label=_("督查方式"), empty_label=_("不限"))
    inspected_from = django_filters.DateFilter(
        field_name="inspected_on", lookup_expr="gte", label=_("督查日期从"), widget=forms.DateInput({"type": "date"})
    )
    inspected_to = django_filters.DateFilter(
        field_name="inspected_on", lookup_expr="lte", label=_("督查日期至"), widget=forms.DateInput({"type": "date"})
    )

    class Meta:
        model = Inspection
        fields = ["township", "kind"]
        form = FilterForm


class FindingFilterSet(_ScopedTownships, django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=_("搜索"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("单位名称或问题描述")}),
    )
    township = django_filters.ModelChoiceFilter(queryset=Township.objects.none(), label=_("责任乡镇(街道)"))
    state = django_filters.ChoiceFilter(choices=FindingState.choices, label=_("状态"), empty_label=_("不限"))
    kind = django_filters.ChoiceFilter(choices=FindingKind.choices, label=_("问题类型"), empty_label=_("不限"))
    overdue = django_filters.BooleanFilter(method="only_overdue", label=_("只看逾期未整改"), widget=forms.CheckboxInput)

    class Meta:
        model = Finding
        fields = ["township", "state", "kind"]
        form = FilterForm

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(enterprise__name__icontains=value) | Q(description__icontains=value))

    def only_overdue(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(state=FindingState.OPEN, deadline__lt=timezone.localdate())
