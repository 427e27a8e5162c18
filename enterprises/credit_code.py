"""Unified social credit code (统一社会信用代码) validation.

GB 32100-2015: 18 characters from a 31-character alphabet (no I, O, S, V, Z); the last one is a
check character over the first 17 with weights 3**i mod 31. Characters 9–17 are the legacy
organisation code of GB 11714-1997, whose ninth character is its own check (weights 3 7 9 10 5 8
4 2, modulus 11, 10 written as X).
"""

import operator
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [pow(3, i, 31) for i in range(17)]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
# Lookup tables: an import checks tens of thousands of codes, and str.index per character shows.
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_ORG_VALUE = {c: int(c, 36) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}  # A=10 … Z=35
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def credit_check_char(first17):
    total = sum(map(operator.mul, map(_VALUE.__getitem__, first17), WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def org_check_char(first8):
    # GB 11714: digits are worth themselves, letters A=10 … Z=35.
    total = sum(map(operator.mul, map(_ORG_VALUE.__getitem__, first8), ORG_WEIGHTS))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def normalize_credit_code(raw):
    """Upper-case and strip the spaces people type or paste into a code."""
    return re.sub(r"[\s\u3000-]+", "", str(raw or "")).upper()


def credit_code_error(code):
    """The reason ``code`` is not a valid credit code, or None when it is."""
    if len(code) != 18:
        return _("应为18位，实际为%(n)d位") % {"n": len(code)}
    if not _SHAPE.match(code):
        return _("含有不允许的字符（不使用I、O、S、V、Z；第3–8位为行政区划数字代码）")
    if credit_check_char(code[:17]) != code[17]:
        return _("校验码错误")
    if org_check_char(code[8:16]) != code[16]:
        return _("组织机构代码（第9–17位）校验码错误")
    return None


def validate_credit_code(value):
    error = credit_code_error(value)
    if error:
        raise ValidationError(_("统一社会信用代码无效：%(reason)s"), code="credit_code", params={"reason": error})


def make_credit_code(registration, kind, region, org_body):
    """Build a valid code from its parts (demo data and tests)."""
    first16 = f"{registration}{kind}{region}{org_body}"
    first17 = first16 + org_check_char(org_body)
    return first17 + credit_check_char(first17)
