"""GB 32100-2015 unified social credit codes, with the embedded GB 11714 organisation code."""

import pytest
from django.core.exceptions import ValidationError

from enterprises.credit_code import (
    credit_check_char,
    credit_code_error,
    make_credit_code,
    normalize_credit_code,
    org_check_char,
    validate_credit_code,
)

# Published codes of real, well-known organisations (public registration records).
REAL = ["91110000802100433B", "91440300708461136T", "91110108551385082Q"]


@pytest.mark.parametrize("code", REAL)
def test_published_codes_are_valid(code):
    assert credit_code_error(code) is None
    validate_credit_code(code)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91110000802100433C", "校验码错误"),  # last character changed
        ("9111000080210043", "应为18位"),  # too short
        ("91110000802100433BX", "应为18位"),
        ("91110000802I00433B", "不允许的字符"),  # I is not in the alphabet
        ("911100008021004S3B", "不允许的字符"),  # S neither
        ("9111A000802100433B", "不允许的字符"),  # the division code is digits
    ],
)
def test_malformed_codes_say_why(code, reason):
    assert reason in str(credit_code_error(code))
    with pytest.raises(ValidationError):
        validate_credit_code(code)


def test_organisation_code_check_is_verified_separately():
    # A code whose 18th character is right for its first 17, but whose 17th (the organisation
    # code's own check character) is wrong: only the GB 11714 check catches it.
    body = "9111000080210043"  # 16 characters: registration, type, division, 8 org characters
    wrong_org_check = "0" if org_check_char(body[8:16]) != "0" else "1"
    first17 = body + wrong_org_check
    code = first17 + credit_check_char(first17)
    assert credit_code_error(code) == "组织机构代码（第9–17位）校验码错误"


def test_org_check_character_uses_x_for_ten_and_zero_for_eleven():
    assert org_check_char("D2143569") == "X"  # the example of GB 11714
    assert {org_check_char(f"{n:08d}") for n in range(2000)} <= set("0123456789X")


def test_made_codes_are_valid_and_normalization_strips_spaces():
    code = make_credit_code("9", "2", "350100", "MA2Y3K4L")
    assert credit_code_error(code) is None
    assert normalize_credit_code(f" {code[:6].lower()} {code[6:]} ") == code
