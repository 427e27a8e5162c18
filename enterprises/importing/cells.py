"""One cell of a screening list read into its value, or a ``CellError`` saying (in Chinese) why not.

The ``read_*`` functions read a cell of one kind (a credit code, a phone number, 是/否, a date, an
area); ``_PLAIN`` tells, per column whose values rarely repeat, which cells are plainly fine as they
are, so that the planner (``rows``) skips the call for them.
"""

import datetime
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from core.tabular import FORMULA_START, cell_text, formula_like, parse_date, parse_decimal

from ..credit_code import _SHAPE as _CODE_SHAPE
from ..credit_code import ALPHABET as CREDIT_ALPHABET
from ..credit_code import credit_code_error, normalize_credit_code
from ..models import Enterprise, squash_spaces

_YES = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "✔", "☑"})
_NO = frozenset({"否", "n", "no", "false", "0", "×", "✗", "✘", "☐"})
_FLAGS = {"是": True, "否": False, "": False}
_SCIENTIFIC = re.compile(r"^(\d+)(?:\.(\d+))?e\+?(\d+)$", re.IGNORECASE)
_TRAILING_ZERO = re.compile(r"^(\d+)\.0+$")
_AREA_UNITS = re.compile(r"(m2|平方米|平米)$", re.IGNORECASE)
_NO_SPACES = re.compile(r"[\s\u3000]+")
_INTERNATIONAL = re.compile(r"^\+\d[\d\s-]*$")  # +86 138 1234 5678
_CENT = Decimal("0.01")
_MAX_AREA = Decimal("1E10")


class CellError(ValueError):
    """A cell that cannot be read; its message (Chinese) says why. (Never subclassed: the column
    reader tells a cell's error from its value by ``__class__ is CellError``.)"""


def _choices(enum: type[models.TextChoices]) -> dict[str, str]:
    # The file speaks the Chinese labels (the msgids) whatever language the user reads.
    with translation.override(None):
        labels = {str(label): value for value, label in enum.choices}
    return labels | {value: value for value in enum.values}


def _text(value: Any, limit: int, *, phone: bool = False) -> str:
    text = cell_text(value)
    if "  " in text or not text.isprintable():
        text = squash_spaces(text)
    if len(text) > limit:
        raise CellError(_("不能超过%(limit)d个字符（现有%(n)d个）") % {"limit": limit, "n": len(text)})
    if len(text) > 1 and formula_like(text) and not (phone and _INTERNATIONAL.match(text)):
        # Stored, it would come back as a formula in any spreadsheet a later export is opened in.
        raise CellError(_("不能以“=”“+”“-”“@”开头（表格软件会当作公式执行）：收到“%(value)s”") % {"value": text[:40]})
    return text


def _max_length(model: type[models.Model], name: str) -> int:
    return model._meta.get_field(name).max_length


def _excel_number_error() -> CellError:
    return CellError(_("被 Excel 存成了数字，末几位可能已经丢失：请把该列设为“文本”格式后重新填写"))


def read_credit_code(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _excel_number_error()
    text = unicodedata.normalize("NFKC", cell_text(value))
    if _SCIENTIFIC.match(text):
        raise _excel_number_error()
    code = normalize_credit_code(text)
    reason = credit_code_error(code)
    if reason is None:
        return code
    if len(code) == 17 and credit_code_error("0" + code) is None:
        # Never fixed silently: a missing first character is as likely a typo as Excel's doing.
        message = _("“%(code)s”只有17位，疑似开头的“0”被 Excel 去掉了（补上后为%(fixed)s）：请核对原件后填写完整")
        raise CellError(message % {"code": code, "fixed": "0" + code})
    raise CellError(_("“%(code)s”无效：%(reason)s") % {"code": code, "reason": reason})


def read_phone(value: Any) -> str:
    """The number as typed, recovering what Excel turned into 13812345678.0 or 1.3812345678E+10."""
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(_("“%(value)s”不是电话号码") % {"value": value})
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = squash_spaces(unicodedata.normalize("NFKC", cell_text(value)))
    match = _TRAILING_ZERO.match(text)
    if match:
        return match.group(1)
    match = _SCIENTIFIC.match(text)
    if match:
        return _unscientific(text, match)
    return _text(text, _max_length(Enterprise, "phone"), phone=True)


def _unscientific(text: str, match: re.Match) -> str:
    whole, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    written = (whole + fraction).lstrip("0")
    if len(fraction) <= exponent:
        number = str(int(whole + fraction + "0" * (exponent - len(fraction))))
        # Exact only when every digit of the number was written out before the E.
        if len(written) >= len(number):
            return number
    raise CellError(
        _("“%(value)s”是 Excel 的科学计数法，原号码已无法还原：请把该列设为“文本”格式后重新填写") % {"value": text}
    )


def read_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in _FLAGS:  # nearly every cell: skip the normalising below
        return _FLAGS[value]
    text = unicodedata.normalize("NFKC", cell_text(value)).lower()
    if text in _YES:
        return True
    if not text or text in _NO:
        return False
    raise CellError(_("应填“是”或“否”，收到“%(value)s”") % {"value": cell_text(value)})


def read_date(value: Any) -> datetime.date:
    try:
        return parse_date(value)
    except (ValueError, OverflowError):
        raise CellError(_("无法识别的日期“%(value)s”") % {"value": cell_text(value)}) from None


def read_area(value: Any) -> Decimal:
    if isinstance(value, str):
        value = _AREA_UNITS.sub("", unicodedata.normalize("NFKC", cell_text(value)))
    try:
        area = parse_decimal(value)
    except ValueError:
        raise CellError(_("应为数字（平方米），收到“%(value)s”") % {"value": cell_text(value)}) from None
    if area < 0:
        raise CellError(_("不能为负数"))
    if area >= _MAX_AREA:
        raise CellError(_("数值过大"))
    return area.quantize(_CENT, rounding=ROUND_HALF_UP)


_MICRO = Decimal("0.000001")
_DEGREE_SIGN = re.compile(r"[°度]$")


def read_coordinate(value: Any, limit: int) -> Decimal:
    """A longitude (``limit`` 180) or latitude (90) in decimal degrees, to 6 places."""
    raw = value
    if isinstance(value, str):
        value = _DEGREE_SIGN.sub("", unicodedata.normalize("NFKC", cell_text(value)).strip())
    try:
        degrees = parse_decimal(value)
    except ValueError:
        raise CellError(_("应为十进制度数（如 120.123456），收到“%(value)s”") % {"value": cell_text(raw)}) from None
    if not -limit <= degrees <= limit:
        raise CellError(_("超出范围（-%(limit)d 至 %(limit)d）") % {"limit": limit})
    return degrees.quantize(_MICRO, rounding=ROUND_HALF_UP)


def read_longitude(value: Any) -> Decimal:
    return read_coordinate(value, 180)


def read_latitude(value: Any) -> Decimal:
    return read_coordinate(value, 90)


def read_watcher_phone(value: Any) -> str:
    """As 联系电话: Excel's 13812345678.0 recovered; no longer than the column."""
    phone = read_phone(value)
    limit = _max_length(Enterprise, "watcher_phone")
    if len(phone) > limit:
        raise CellError(_("不能超过%(limit)d个字符（现有%(n)d个）") % {"limit": limit, "n": len(phone)})
    return phone


def _read_choice(value: Any, lookup: dict[str, str]) -> str:
    text = _NO_SPACES.sub("", cell_text(value))
    choice = lookup.get(text) or lookup.get(text.lower())
    if choice:
        return choice
    allowed = "、".join(key for key, choice in lookup.items() if key != choice)
    raise CellError(_("应为%(allowed)s之一，收到“%(value)s”") % {"allowed": allowed, "value": cell_text(value)})


def _township_key(name: str) -> str:
    return _NO_SPACES.sub("", name)


def _plain_texts(raws: list[Any], limit: int) -> list[bool]:
    """Per cell: is it text that ``_text`` returns as it is? (Printable, trimmed, no double space,
    within ``limit``, not starting like a formula.) The others go through ``_text`` itself."""
    return [
        raw.__class__ is str
        and 0 < len(raw) <= limit
        and raw.isprintable()
        and raw[0] != " "
        and raw[-1] != " "
        and "  " not in raw
        and not raw.startswith(FORMULA_START)
        for raw in raws
    ]


def _plain_codes(raws: list[Any], _limits) -> list[bool]:
    """Per cell: is it a valid credit code exactly as written (what ``read_credit_code`` returns)?"""
    return [
        raw.__class__ is str
        and len(raw) == 18
        and raw.isascii()
        and raw.isalnum()
        and raw.upper() == raw
        and _SCIENTIFIC.match(raw) is None
        and _valid_code(raw)
        for raw in raws
    ]


# credit_code_error(code) is None, computed with two int() parses instead of two weighted sums per
# character (a list has 50,000 codes). Only the sums' remainders matter: the check character's
# weights are 3**i mod 31, and 34 ≡ 3 (mod 31), so the sum is int(code read as base 34, last
# character first) mod 31; the organisation code's weights 3 7 9 10 5 8 4 2 are 2·35**(7-i) mod 11,
# so its sum is 2·int(code[8:16], 35) mod 11 (35 > every letter the shape allows there, Y = 34).
# tests/enterprises/test_import_units.py holds it to credit_code_error on every kind of code.
_BASE34 = str.maketrans({c: "0123456789abcdefghijklmnopqrstu"[i] for i, c in enumerate(CREDIT_ALPHABET)})


def _valid_code(code: str) -> bool:
    if not _CODE_SHAPE.match(code):
        return False
    if CREDIT_ALPHABET[-int(code[16::-1].translate(_BASE34), 34) % 31] != code[17]:
        return False
    value = 11 - 2 * int(code[8:16], 35) % 11
    return code[16] == ("X" if value == 10 else "0" if value == 11 else str(value))


def _plain_phones(raws: list[Any], limits: dict[str, int]) -> list[bool]:
    """Per cell: is it digits only, as ``read_phone`` returns them?"""
    limit = limits["phone"]
    return [raw.__class__ is str and 0 < len(raw) <= limit and raw.isascii() and raw.isdigit() for raw in raws]


_PLAIN = {
    "name": lambda raws, limits: _plain_texts(raws, limits["name"]),
    "address": lambda raws, limits: _plain_texts(raws, limits["address"]),
    "credit_code": _plain_codes,
    "phone": _plain_phones,
}
