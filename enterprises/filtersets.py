"""The unit register's filters (四无单位台账 筛选).

``method`` and the ``rectified_*`` dates describe a unit's *current* rectification: the period
that has not been re-opened by a relapse (at most one per unit, a database constraint). A unit
that relapsed is not "rectified in March" any more, which is also how the progress counts see it.
"""

import django_filters
from django import forms
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from campaign.access import Role, role_of, scope_townships
from campaign.models import Township, Village

from .forms import DateInput, FilterForm
from .models import Defect, Enterprise, Method, Rectification, Source, Status


class AnyYesNoSelect(forms.NullBooleanSelect):
    """不限 / 是 / 否 (Django's own labels say "Unknown", which reads wrong in a filter)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("不限")), ("true", _("是")), ("false", _("否"))]


# Roles that may see (some) full owner names: only they may search by owner.
PERSONAL_DATA_ROLES = {Role.CITY_ADMIN, Role.TOWNSHIP_STAFF}


def _current_rectification():
    return Rectification.objects.filter(enterprise=OuterRef("pk"), reopened_on__isnull=True, deleted_at__isnull=True)


def with_current_rectification(queryset):
    """Add ``current_method``, ``current_rectified_on`` and ``current_demolished_m2`` (or None).

    One LEFT JOIN: the constraint "one open period per unit" keeps it to one row per unit.
    """
    return queryset.annotate(
        current=FilteredRelation(
            "rectifications",
            condition=Q(rectifications__reopened_on__isnull=True, rectifications__deleted_at__isnull=True),
        ),
        current_method=F("current__method"),
        current_rectified_on=F("current__rectified_on"),
        current_demolished_m2=F("current__demolished_m2"),
    )


def _defect_filter(defect):
    return django_filters.BooleanFilter(field_name=defect.value, label=defect.label, widget=AnyYesNoSelect)


class UnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=_("搜索"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("名称、地址、信用代码或负责人")}),
    )
    township = django_filters.ModelMultipleChoiceFilter(
        queryset=Township.objects.all(), label=_("乡镇(街道)"), widget=forms.SelectMultiple(attrs={"size": 4})
    )
    village = django_filters.ModelMultipleChoiceFilter(
        queryset=Village.objects.select_related("township"),
        label=_("村(社区)"),
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, label=_("整治状态"), widget=forms.CheckboxSelectMultiple
    )
    unlicensed = _defect_filter(Defect.UNLICENSED)
    unsafe = _defect_filter(Defect.UNSAFE)
    no_legal_premises = _defect_filter(Defect.NO_LEGAL_PREMISES)
    no_env_measures = _defect_filter(Defect.NO_ENV_MEASURES)
    industry = django_filters.MultipleChoiceFilter(
        label=_("行业"), choices=[], widget=forms.SelectMultiple(attrs={"size": 4})
    )
    premises = django_filters.MultipleChoiceFilter(
        label=_("场所类型"), choices=[], widget=forms.SelectMultiple(attrs={"size": 4})
    )
    method = django_filters.MultipleChoiceFilter(
        choices=Method.choices,
        method="filter_method",
        label=_("整治方式"),
        widget=forms.CheckboxSelectMultiple,
    )
    source = django_filters.MultipleChoiceFilter(
        choices=Source.choices, label=_("来源"), widget=forms.CheckboxSelectMultiple
    )
    identified_from = django_filters.DateFilter(
        field_name="identified_on", lookup_expr="gte", label=_("排查日期 起"), widget=DateInput
    )
    identified_to = django_filters.DateFilter(
        field_name="identified_on", lookup_expr="lte", label=_("排查日期 止"), widget=DateInput
    )
    rectified_from = django_filters.DateFilter(
        method="filter_rectified_from", label=_("整治完成日期 起"), widget=DateInput
    )
    rectified_to = django_filters.DateFilter(method="filter_rectified_to", label=_("整治完成日期 止"), widget=DateInput)

    class Meta:
        model = Enterprise
        fields = []
        form = FilterForm

    def __init__(self, data=None, queryset=None, *, user=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        if user is not None:
            # The same townships the user's units are in: a forged township id is not a valid choice.
            townships = scope_townships(user, Township.objects.all())
            self.filters["township"].queryset = townships
            self.filters["village"].queryset = self.filters["village"].queryset.filter(township__in=townships)
        # Searching by owner would confirm a name to someone who may not see it (SPEC personal data).
        self.search_owner = user is None or role_of(user) in PERSONAL_DATA_ROLES
        if not self.search_owner:
            self.filters["q"].extra["widget"] = forms.TextInput(
                attrs={"type": "search", "placeholder": _("名称、地址或信用代码")}
            )
        # Free-text columns filled by imports: offer the values this user's units actually have.
        for name in ("industry", "premises"):
            values = self.queryset.exclude(**{name: ""}).order_by(name).values_list(name, flat=True).distinct()
            self.filters[name].extra["choices"] = [(v, v) for v in values]

    def active_filters(self):
        """Names of the filters other than the search box that the request sets (shown on the folded panel)."""
        data = self.data if self.is_bound else {}
        active = []
        for name in self.filters:
            value = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
            values = value if isinstance(value, list | tuple) else [value]
            if name != "q" and any(str(v).strip() for v in values if v is not None):
                active.append(name)
        return active

    def search(self, queryset, name, value):
        terms = value.split()
        for term in terms:
            match = Q(name__icontains=term) | Q(address__icontains=term) | Q(credit_code__icontains=term)
            if self.search_owner:
                match |= Q(owner__icontains=term)
            queryset = queryset.filter(match)
        return queryset

    def filter_method(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Exists(_current_rectification().filter(method__in=value)))

    def filter_rectified_from(self, queryset, name, value):
        return queryset.filter(Exists(_current_rectification().filter(rectified_on__gte=value)))

    def filter_rectified_to(self, queryset, name, value):
        return queryset.filter(Exists(_current_rectification().filter(rectified_on__lte=value)))
