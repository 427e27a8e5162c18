"""The unit register's filters (四无单位台账 筛选).

``method`` and the ``rectified_*`` dates describe a unit's *current* rectification: the period
that has not been re-opened by a relapse (at most one per unit, a database constraint). A unit
that relapsed is not "rectified in March" any more, which is also how the progress counts see it.
The database keeps them on the unit (``current_method``, ``current_rectified_on``).
"""

import functools
import html

import django_filters
from django import forms
from django.db import connection
from django.db.models import F, FilteredRelation, Q
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from campaign.models import Township, Village
from core import params
from core.access import Role, role_of, scope_townships, township_id_of

from . import search as unit_search
from .forms import DateInput, FilterForm
from .models import Defect, Enterprise, Method, Source, Status


class AnyYesNoSelect(forms.NullBooleanSelect):
    """不限 / 是 / 否 (Django's own labels say "Unknown", which reads wrong in a filter)."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", _("不限")), ("true", _("是")), ("false", _("否"))]


class QuickSelectMultiple(forms.SelectMultiple):
    """The ``<select multiple>`` Django's template renders, written directly.

    The template renders a sub-template per option, and a model choice field makes a model instance
    per option; for the hundreds of villages of a city that costs more than all of the register
    page's queries together. ``label_columns`` names the columns whose values, joined, make a model
    choice's label (the model's ``__str__``), so the choices are read as plain rows.
    """

    def __init__(self, attrs=None, *, label_columns=None):
        super().__init__(attrs)
        self.label_columns = label_columns

    def _option_pairs(self):
        choices = self.choices
        if self.label_columns and isinstance(choices, ModelChoiceIterator):
            for pk, *parts in choices.queryset.values_list("pk", *self.label_columns):
                yield pk, "".join(parts)
        else:
            yield from choices

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in (value or ())}
        options = _escaped_options(tuple((str(v), str(label)) for v, label in self._option_pairs()))
        html_options = "".join(
            f'<option value="{value_html}"{" selected" if raw in selected else ""}>{label_html}</option>'
            for raw, value_html, label_html in options
        )
        final = self.build_attrs(self.attrs, attrs)
        final["multiple"] = True
        return mark_safe(  # nosec B308 B703  # every value and label is escaped, attributes by flatatt
            f'<select name="{html.escape(name)}"{flatatt(final)}>{html_options}</select>'
        )


class VillageSelectMultiple(QuickSelectMultiple):
    """The villages, all of them in a city; in a province (tens of thousands) only those of the
    townships the request chose, and any village it chose, with a line saying so.

    Drawing 26,000 options took most of the register's time at 1,300 townships, and nobody scrolls
    such a list: the first ``limit`` + 1 rows are read, and only when there are more is the list
    narrowed (a second query, in that case only). The filter's own queryset, which validates the
    request, is not narrowed: a village chosen in a link stays a valid choice."""

    limit = 3000

    def __init__(self, attrs=None, *, label_columns=None):
        super().__init__(attrs, label_columns=label_columns)
        self.townships = ()  # the townships the request chose (UnitFilterSet sets them)
        self.narrowed = False

    def render(self, name, value, attrs=None, renderer=None):
        self._chosen = [v for v in (value or ()) if str(v).isdigit()]
        html_select = super().render(name, value, attrs, renderer)
        if not self.narrowed:
            return html_select
        hint = (
            _("村(社区)较多，只列出所选乡镇(街道)的村(社区)。")
            if self.townships
            else _("村(社区)较多，请先选择乡镇(街道)并筛选，再选择村(社区)。")
        )
        return mark_safe(f'{html_select}<p class="help">{html.escape(hint)}</p>')  # nosec B308 B703  # escaped

    def _option_pairs(self):
        choices = self.choices
        if not isinstance(choices, ModelChoiceIterator):
            yield from super()._option_pairs()
            return
        queryset = choices.queryset
        rows = list(queryset.values_list("pk", *self.label_columns)[: self.limit + 1])
        self.narrowed = len(rows) > self.limit
        if self.narrowed:
            wanted = Q(township__in=[int(t) for t in self.townships if str(t).isdigit()])
            wanted |= Q(pk__in=[int(v) for v in getattr(self, "_chosen", ())])
            rows = queryset.filter(wanted).values_list("pk", *self.label_columns)
        for pk, *parts in rows:
            yield pk, "".join(parts)


@functools.lru_cache(maxsize=64)
def _escaped_options(pairs):
    """(value, escaped value, escaped label) of each choice: the same few lists are drawn on every request."""
    return tuple((value, html.escape(value), html.escape(label)) for value, label in pairs)


# Roles that may see (some) full owner names: only they may search by owner.
PERSONAL_DATA_ROLES = {Role.CITY_ADMIN, Role.TOWNSHIP_STAFF}


def with_current_rectification(queryset):
    """Add ``current_demolished_m2`` (or None): the demolished area of the unit's current
    rectification, for the exports (its method and day are the unit's own columns).

    One LEFT JOIN: the constraint "one open period per unit" keeps it to one row per unit.
    """
    return queryset.annotate(
        current=FilteredRelation(
            "rectifications",
            condition=Q(rectifications__reopened_on__isnull=True, rectifications__deleted_at__isnull=True),
        ),
        current_demolished_m2=F("current__demolished_m2"),
    )


def values_in_use(column, township_id=None):
    """The distinct non-blank values of ``column`` (industry or premises) among alive units, of one
    township or of all (None), in order: one query served by the enterprise_*_idx indexes of the column.

    Each step of the recursion asks the index for the next larger value, so the cost grows with the
    number of distinct values (a dozen), not of units; SELECT DISTINCT would read every alive unit.
    """
    if column not in ("industry", "premises"):  # the column name goes into the SQL text below
        raise ValueError(column)
    table = Enterprise._meta.db_table
    where = "deleted_at IS NULL" + (" AND township_id = %s" if township_id is not None else "")
    sql = (
        f"WITH RECURSIVE found(v) AS ("  # nosec B608  # column checked against two names above, table from _meta; values are parameters
        f"SELECT MIN({column}) FROM {table} WHERE {where} AND {column} > '' "
        f"UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {where} AND {column} > found.v) "
        f"FROM found WHERE found.v IS NOT NULL) SELECT v FROM found WHERE v IS NOT NULL ORDER BY v"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [township_id] * 2 if township_id is not None else [])
        return [value for (value,) in cursor.fetchall()]


def _defect_filter(defect):
    return django_filters.BooleanFilter(field_name=defect.value, label=defect.label, widget=AnyYesNoSelect)


class IdChoiceField(forms.ModelMultipleChoiceField):
    """Choices by id, refusing an id no database integer can hold before it reaches the query: SQLite's
    driver raises OverflowError (a 500) on such a number, where PostgreSQL simply finds nothing."""

    def _check_values(self, value):
        for pk in value:
            try:
                params.integer(str(pk), minimum=1)
            except params.BadParameter:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                ) from None
        return super()._check_values(value)


class IdChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = IdChoiceField


class UnitFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="search",
        label=_("搜索"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("名称、地址、信用代码或负责人")}),
    )
    # distinct=False on every multiple choice: each names a column of the unit itself (no join that
    # could repeat a row), and DISTINCT would stop the register's keyset index from serving the order.
    township = IdChoiceFilter(
        queryset=Township.objects.all(),
        label=_("乡镇(街道)"),
        widget=QuickSelectMultiple(attrs={"size": 4}, label_columns=("name",)),
        distinct=False,
    )
    village = IdChoiceFilter(
        queryset=Village.objects.select_related("township"),
        label=_("村(社区)"),
        widget=VillageSelectMultiple(attrs={"size": 4}, label_columns=("township__name", "name")),
        distinct=False,
    )
    status = django_filters.MultipleChoiceFilter(
        choices=Status.choices, label=_("整治状态"), widget=forms.CheckboxSelectMultiple, distinct=False
    )
    unlicensed = _defect_filter(Defect.UNLICENSED)
    unsafe = _defect_filter(Defect.UNSAFE)
    no_legal_premises = _defect_filter(Defect.NO_LEGAL_PREMISES)
    no_env_measures = _defect_filter(Defect.NO_ENV_MEASURES)
    industry = django_filters.MultipleChoiceFilter(
        label=_("行业"), choices=[], widget=QuickSelectMultiple(attrs={"size": 4}), distinct=False
    )
    premises = django_filters.MultipleChoiceFilter(
        label=_("场所类型"), choices=[], widget=QuickSelectMultiple(attrs={"size": 4}), distinct=False
    )
    method = django_filters.MultipleChoiceFilter(
        choices=Method.choices,
        method="filter_method",
        label=_("整治方式"),
        widget=forms.CheckboxSelectMultiple,
    )
    source = django_filters.MultipleChoiceFilter(
        choices=Source.choices, label=_("来源"), widget=forms.CheckboxSelectMultiple, distinct=False
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
        self.user = user
        if user is not None:
            # The same townships the user's units are in: a forged township id is not a valid choice.
            townships = scope_townships(user, Township.objects.all())
            self.filters["township"].queryset = townships
            self.filters["village"].queryset = self.filters["village"].queryset.filter(township__in=townships)
        # A province's villages are listed for the chosen townships only (VillageSelectMultiple).
        chosen = self.data.getlist("township") if hasattr(self.data, "getlist") else ()
        self.filters["village"].extra["widget"].townships = tuple(chosen)
        # Searching by owner would confirm a name to someone who may not see it (SPEC personal data).
        self.search_owner = user is None or role_of(user) in PERSONAL_DATA_ROLES
        if not self.search_owner:
            self.filters["q"].extra["widget"] = forms.TextInput(
                attrs={"type": "search", "placeholder": _("名称、地址或信用代码")}
            )
        # Free-text columns filled by imports: offer the values this user's units actually have.
        # The view's queryset is the user's alive units (scope_units), which values_in_use reads from
        # an index; any other queryset (a test's, a user-less one) is read as it is.
        role = role_of(user) if user is not None else None
        township_id = township_id_of(user) if role == Role.TOWNSHIP_STAFF else None
        for name in ("industry", "premises"):
            if role == Role.TOWNSHIP_STAFF and township_id is None:
                values = []  # staff without a township see no units (scope_units)
            elif role is not None:
                values = values_in_use(name, township_id)
            else:
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

    def _applied(self):
        """{name: value} of the filters that narrow ``qs`` (valid and not blank; 否 narrows too)."""
        if not self.is_bound:
            return {}
        self.errors  # noqa: B018 -- validates, as ``qs`` does: an invalid field filters nothing
        blank = (None, "", [], ())
        return {
            name: value
            for name, value in self.form.cleaned_data.items()
            if value not in blank and not (hasattr(value, "__len__") and len(value) == 0)
        }

    def selected_statuses(self):
        """The statuses the list is narrowed to, or None for all."""
        return self._applied().get("status") or None

    def maintained_scope(self):
        """(township ids or None for all, statuses or None for all) when only the user's scope,
        townships and statuses narrow the list, so the database's UnitStatus counts answer; else None.
        """
        if self.user is None:
            return None
        applied = self._applied()
        if applied.keys() - {"township", "status"}:
            return None
        role = role_of(self.user)
        if role is None:
            return None
        townships = None
        if role == Role.TOWNSHIP_STAFF:  # scope_units: staff see their own township's units only
            townships = {township_id_of(self.user)} - {None}
        if "township" in applied:
            chosen = {township.pk for township in applied["township"]}
            townships = chosen if townships is None else townships & chosen
        return townships, applied.get("status") or None

    def search(self, queryset, name, value):
        """Every term in the name, address or credit code (or owner, for ``search_owner``), served by
        the search index (enterprises/search.py, docs/search.md)."""
        found = unit_search.terms(value)
        if not found:
            return queryset
        return unit_search.narrowed(queryset, found, owner=self.search_owner)

    # The current rectification's method and day are the unit's own columns, kept by triggers
    # (Enterprise.current_method, current_rectified_on; migration 0014).
    def filter_method(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(current_method__in=value)

    def filter_rectified_from(self, queryset, name, value):
        return queryset.filter(current_rectified_on__gte=value)

    def filter_rectified_to(self, queryset, name, value):
        # A unit is identified on or before it is rectified (the forms, the import and the services
        # refuse anything else: check_rectification, clean_identified_on, check_identified_on), so
        # its 排查日期 is bounded too. Said in the query, the register's index starts at that day
        # instead of walking past every unit identified since (the latest are the least rectified).
        return queryset.filter(current_rectified_on__lte=value, identified_on__lte=value)
