"""Links to many objects of one kind, reversed once.

``reverse()`` walks the URLconf on every call: about 0.08 ms here, which for the 25–50 rows of a
list page was a few milliseconds of every request. ``pk_links(viewname)`` reverses the view once
with a placeholder key and returns a function that puts each key in its place: the same URL as
``reverse(viewname, args=[pk])`` (tests/test_links.py), script prefix and language included, because
the one reverse is made in the request being answered.
"""

from django.urls import reverse

_PLACEHOLDER = "918273645"  # an int the URL's own text never holds


def pk_links(viewname):
    """A function ``pk -> reverse(viewname, args=[pk])`` for a view whose only argument is an int."""
    head, found, tail = reverse(viewname, args=[int(_PLACEHOLDER)]).rpartition(_PLACEHOLDER)
    if not found:  # pragma: no cover - a converter that rewrites the key; fall back to reversing each
        return lambda pk: reverse(viewname, args=[pk])
    return lambda pk: f"{head}{int(pk)}{tail}"
