"""Exact numbers in storage: a Decimal is stored as a BIGINT of millionths.

>>> to_scaled(Decimal("1234.56"))
1234560000
>>> from_scaled(1234560000)
Decimal('1234.56')

SUM over the scaled integer is exact on SQLite and PostgreSQL; floats never appear.
"""

from decimal import Decimal, InvalidOperation, ROUND_HALF_EVEN

SCALE_DIGITS = 6
SCALE = 10**SCALE_DIGITS
MAX_ABS = Decimal(2**63 - 1) / SCALE  # about 9.2e12
_QUANTUM = Decimal(1).scaleb(-SCALE_DIGITS)


def to_scaled(value: Decimal) -> int:
    """Decimal → integer millionths, rounding half-even past 6 places. Raises ValueError when too big."""
    try:
        value = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"{value!r} is not a number") from exc
    if not value.is_finite():
        raise ValueError("not a finite number")
    if abs(value) > MAX_ABS:
        raise ValueError(f"too large (at most {MAX_ABS:.0f})")
    return int((value * SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_scaled(value: int | None) -> Decimal | None:
    """Integer millionths → Decimal, without trailing zeros beyond the integer part."""
    if value is None:
        return None
    return normalize(Decimal(int(value)) / SCALE)


def normalize(value: Decimal) -> Decimal:
    """Drop trailing zeros but never switch to exponent notation (1E+3 stays 1000)."""
    value = Decimal(value).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN) if Decimal(value).as_tuple().exponent < -SCALE_DIGITS else Decimal(value)
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()
