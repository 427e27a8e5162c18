"""Reading query parameters: whatever a URL carries, a page answers 400 or falls back with a message.

Anyone who can type a URL chooses what ``request.GET`` holds: NUL bytes (which PostgreSQL refuses
in a string literal, so a lookup with one is a 500 there and not on SQLite), text of any length,
invalid UTF-8 (Django decodes it to U+FFFD), numbers beyond any database integer, impossible dates.
Views read the parameters they act on through these helpers (or through a Django form, whose
fields validate their input); the helpers never touch the database.

Each reader takes the raw value (``request.GET.get(name)``, None when absent) and returns the
value, or None when the parameter is absent or empty; a value present but malformed raises
``BadParameter`` (a ValueError), which the view turns into a 400 or a fallback with a message.
"""

import datetime
import re

# No parameter of this project is longer: a slug (64), a search text, a date, a signed cursor.
MAX_LENGTH = 200
# The range of a database id (BigAutoField) and of any integer a lookup may be given.
ID_MAX = 2**63 - 1

_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
# C0 and C1 control characters (NUL among them) and the replacement character of invalid UTF-8.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ufffd]")


class BadParameter(ValueError):
    """A query parameter that is present but cannot be a value of what it names."""


def text(value, *, max_length=MAX_LENGTH):
    """``value`` stripped; None when absent or empty; BadParameter when it holds a control character
    (NUL among them), comes from invalid UTF-8 or is longer than ``max_length``."""
    if value is None:
        return None
    if _UNPRINTABLE.search(value):
        raise BadParameter(value)
    value = value.strip()
    if len(value) > max_length:
        raise BadParameter(value)
    return value or None


def slug(value):
    """A slug (letters, digits, ``-`` and ``_``, at most 64 of them), or None when absent."""
    value = text(value, max_length=64)
    if value is not None and not _SLUG.fullmatch(value):
        raise BadParameter(value)
    return value


def integer(value, *, minimum=None, maximum=ID_MAX):
    """A whole number written in ASCII digits within ``[minimum, maximum]``, or None when absent."""
    value = text(value, max_length=20)
    if value is None:
        return None
    if not _INTEGER.fullmatch(value):
        raise BadParameter(value)
    number = int(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise BadParameter(value)
    return number


def day(value):
    """A date written YYYY-MM-DD (an existing day), or None when absent."""
    value = text(value, max_length=10)
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise BadParameter(value) from None


def id_or_none(value):
    """A database id (a positive integer), or None when absent or malformed: for optional choices
    such as the township a page focuses on, where a bad value simply chooses nothing."""
    try:
        return integer(value, minimum=1)
    except BadParameter:
        return None


def shown(value, limit=40):
    """``value`` as a message may quote it: printable characters only, cut after ``limit``."""
    value = _UNPRINTABLE.sub("", value or "")
    return value if len(value) <= limit else value[:limit] + "…"
