"""Owner names and phones as lists, exports and notices show them (SPEC: 张*, 138****1234)."""

import pytest

from core.masking import mask_name, mask_phone


@pytest.mark.parametrize(
    "name,masked",
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧***"),
        ("张", "张*"),  # at least one *: a one-character name is not shown whole
        ("  王五 ", "王*"),
        ("", ""),
        (None, ""),
        ("Li Lei", "L*****"),
    ],
)
def test_mask_name_keeps_the_first_character(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    "phone,masked",
    [
        ("13812341234", "138****1234"),
        ("138 1234 1234", "138****1234"),
        ("138-1234-1234", "138****1234"),
        ("+86 13812341234", "138****1234"),
        ("8613812341234", "138****1234"),
        # Landlines keep their area code (3 digits for 010 and 02x, else 4) and the last 4 digits.
        ("0571-88886666", "0571-****6666"),
        ("057188886666", "0571****6666"),
        ("010-12345678", "010-****5678"),
        ("021 1234567", "021 ***4567"),
        ("0571-8888666", "0571-***8666"),
        # Anything else: only the last 4 digits.
        ("88886666", "****6666"),
        ("0571-88886666转801", "***********6801"),
        ("1234", "****"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("phone", ["13812341234", "0571-88886666", "88886666", "0571-88886666转801"])
def test_a_masked_phone_never_shows_more_than_the_area_code_and_last_four_digits(phone):
    digits = "".join(c for c in mask_phone(phone) if c.isdigit())
    assert len(digits) <= 4 + 4
    assert mask_phone(phone).count("*") >= 3
