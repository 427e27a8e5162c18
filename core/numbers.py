"""Exact numbers rounded the one way the campaign's notices round them: half up, to two decimals."""

import math
from decimal import Decimal
from fractions import Fraction

HUNDREDTH = Decimal("0.01")


def round_half_up(value):
    """Round a non-negative or negative exact number half away from zero to 2 decimals."""
    value = Fraction(value)
    sign = -1 if value < 0 else 1
    hundredths = math.floor(abs(value) * 100 + Fraction(1, 2))
    return (Decimal(sign * hundredths) / 100).quantize(HUNDREDTH)
