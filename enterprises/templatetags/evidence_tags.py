"""The evidence panel under a record's photos: for each photo, when and where it was taken, how far
from the unit, and the flags an inspector should look at (core/evidence.py)."""

from django import template

register = template.Library()


@register.inclusion_tag("includes/evidence.html")
def evidence_panel(photos, unit=None, recorded_on=None, panel_id=""):
    """``photos``: rows with the ``Captured`` columns, in the order they are shown (numbered alike);
    ``unit``: the unit they prove (its position; None for an inspection of a township or a park);
    ``recorded_on``: the date the record claims (a rectification's, a completion's, a stage's)."""
    position = (getattr(unit, "longitude", None), getattr(unit, "latitude", None))
    lines = []
    for photo in photos:
        flags, distance = photo.judged(position, recorded_on)
        lines.append({"photo": photo, "flags": flags, "distance": None if distance is None else round(distance)})
    return {"lines": lines, "flagged": sum(1 for line in lines if line["flags"]), "panel_id": panel_id}
