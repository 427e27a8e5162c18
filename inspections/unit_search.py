"""The unit picker's search: one page of the units a user may pick, matching what they typed.

The inspection and finding forms never list a township's units (a township can hold 200,000): their
unit field (``inspections.forms.UnitPickerField``) renders only the units already chosen, and
static/js/unit-picker.js asks ``unit_search`` for a page at a time. Without JavaScript the field
takes unit numbers, and ``unit_find`` is the same search as a page that shows them.

Scope: ``core.access.scope_units`` (township staff their own township, everyone else all),
narrowed to the township(s) asked for. Township staff whose township cross-inspects another one
today (a cross round in force) may also search that township when they ask for it by name; each
such search is recorded like any other read of its data (``services.record_cross_access``).

A query is split into at most ``MAX_TERMS`` words; every word must occur in the unit's name, its
village's name, its address or its credit code. Pages are keyset pages in (name, id) order, at
most ``MAX_PAGE_SIZE`` rows; the position travels in ``after`` ("<id>:<name>" of the last row).
"""

import re

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from campaign.models import Township
from core.access import allow, scope_units
from enterprises.models import Enterprise

from . import services
from .selectors import current_assignments
from .views import RECORDERS

PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
MAX_QUERY_CHARS = 100
MAX_TERMS = 5
MAX_TOWNSHIPS = 20
MAX_CURSOR_CHARS = 240

# Control characters (NUL among them: PostgreSQL refuses it in a string) never reach the database.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadRequest(ValueError):
    """A parameter that is not what the picker sends; the message is for the user."""


def query_terms(text):
    """The words of a search box's text: control characters dropped, bounded in number and length."""
    text = _CONTROL.sub(" ", str(text or ""))[:MAX_QUERY_CHARS]
    return text.split()[:MAX_TERMS]


def township_ids(values):
    """The township ids of the ``township`` parameters (each may hold several, comma-separated)."""
    ids = []
    for value in values:
        for part in str(value).replace("，", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit() or len(part) > 18:
                raise BadRequest(_("乡镇(街道)参数无效"))
            ids.append(int(part))
    if len(ids) > MAX_TOWNSHIPS:
        raise BadRequest(_("一次最多搜索%(n)d个乡镇(街道)") % {"n": MAX_TOWNSHIPS})
    return list(dict.fromkeys(ids))


def page_size(value):
    try:
        size = int(value)
    except (TypeError, ValueError):
        return PAGE_SIZE
    return min(max(size, 1), MAX_PAGE_SIZE)


def parse_cursor(value):
    """(name, id) of the row a page starts after, or None for the first page (also when malformed)."""
    value = _CONTROL.sub("", str(value or ""))[:MAX_CURSOR_CHARS]
    pk, sep, name = value.partition(":")
    if not sep or not pk.isdigit() or len(pk) > 18:
        return None
    return name, int(pk)


def cursor_of(unit):
    return f"{unit.pk}:{unit.name}"


def searchable_units(user, townships=()):
    """Units ``user`` may pick, in ``townships`` when given, and the cross assignments that opened
    any of them (township staff only; the caller records the read)."""
    base = Enterprise.objects.alive()
    units = scope_units(user, base)
    crossing = []
    if townships:
        crossing = [a for a in current_assignments(user) if a.inspected_id in townships]
        if crossing:
            units = units | base.filter(township_id__in=[a.inspected_id for a in crossing])
        units = units.filter(township_id__in=townships)
    return units, crossing


def search(units, terms, *, after=None, limit=PAGE_SIZE):
    """One page of ``units`` matching every term: (rows, cursor of the next page or None)."""
    for term in terms:
        units = units.filter(
            Q(name__icontains=term)
            | Q(village__name__icontains=term)
            | Q(address__icontains=term)
            | Q(credit_code__icontains=term)
        )
    if after is not None:
        name, pk = after
        units = units.filter(Q(name__gt=name) | Q(name=name, pk__gt=pk))
    rows = list(
        units.select_related("village")
        .only("pk", "name", "address", "credit_code", "status", "township_id", "village__name")
        .order_by("name", "pk")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (cursor_of(rows[-1]) if more and rows else None)


def as_json(unit):
    """What the picker shows of a unit: enough to tell two units of the same name apart."""
    return {
        "id": unit.pk,
        "name": unit.name,
        "village": unit.village.name if unit.village_id else "",
        "address": unit.address,
        "credit_code": unit.credit_code,
        "status": unit.status,
        "status_label": unit.get_status_display(),
    }


def _searched(request):
    """(rows, next cursor, terms, township ids) of the request; BadRequest for a bad parameter."""
    townships = township_ids(request.GET.getlist("township"))
    units, crossing = searchable_units(request.user, townships)
    terms = query_terms(request.GET.get("q"))
    rows, following = search(
        units, terms, after=parse_cursor(request.GET.get("after")), limit=page_size(request.GET.get("limit"))
    )
    for assignment in crossing:
        services.record_cross_access(assignment=assignment, user=request.user, path=request.get_full_path())
    return rows, following, terms, townships


@allow(get=RECORDERS)
@login_required
def unit_search(request):
    """GET ?township=ID&q=TEXT[&after=CURSOR][&limit=N] → {"results": [...], "next": CURSOR|null}."""
    try:
        rows, following, _terms, _townships = _searched(request)
    except BadRequest as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    response = JsonResponse({"results": [as_json(unit) for unit in rows], "next": following})
    response["Cache-Control"] = "private, no-store"
    return response


@allow(get=RECORDERS)
@login_required
def unit_find(request):
    """The same search as a page, for a form filled in without JavaScript: it shows unit numbers."""
    try:
        rows, following, terms, townships = _searched(request)
    except BadRequest as exc:
        return render(request, "inspections/unit_find.html", {"error": str(exc), "rows": []}, status=400)
    context = {
        "rows": rows,
        "next": following,
        "q": " ".join(terms),
        "townships": list(Township.objects.filter(pk__in=townships).order_by("sort_order", "name")),
        "limit": page_size(request.GET.get("limit")),
    }
    return render(request, "inspections/unit_find.html", context)
