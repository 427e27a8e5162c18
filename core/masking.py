"""Masking of personal data (owners' names, phone numbers) wherever they are listed.

The rules are the same for the register, its exports, the audit trail and the notices; who may see
the full values, and the record of each time they are shown, are the units' business
(enterprises/masking.py).
"""

import re

_MOBILE = re.compile(r"^(?P<prefix>(?:\+?86[\s-]?)?)(?P<number>1\d{10})$")
# 010 and 02x are the three-digit area codes; every other one has four digits.
_LANDLINE = re.compile(r"^(?P<area>0(?:10|2\d|[3-9]\d{2}))(?P<sep>[\s-]?)(?P<local>\d{7,8})(?P<rest>.*)$")


def mask_name(name):
    """张三 → 张*, 张三丰 → 张**: the first character, then one * per remaining one (at least one)."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone):
    """13812341234 → 138****1234; 0571-88886666 → 0571-****6666; anything else keeps its last 4 digits."""
    phone = (phone or "").strip()
    if not phone:
        return ""
    compact = re.sub(r"[\s-]", "", phone)
    mobile = _MOBILE.match(compact)
    if mobile:
        number = mobile["number"]
        return f"{number[:3]}****{number[-4:]}"
    landline = _LANDLINE.match(phone)
    if landline and not re.search(r"\d", landline["rest"]):
        local = landline["local"]
        return f"{landline['area']}{landline['sep']}{'*' * (len(local) - 4)}{local[-4:]}"
    digits = re.sub(r"\D", "", phone)
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]
