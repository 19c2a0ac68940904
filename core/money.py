"""Decimal helpers: the one place that rounds money (billing-rules R1-R4, R24).

>>> quantize_rated(Decimal("0.0040666666"))
Decimal('0.004067')
>>> quantize_minor(Decimal("12.218343"), "EUR")
Decimal('12.22')
>>> quantize_minor(Decimal("0.005"), "EUR")
Decimal('0.01')
>>> quantize_minor(Decimal("1234.5"), "JPY")
Decimal('1235')
>>> prorate(Decimal("19.99"), days_used=17, days_in_period=31, currency="EUR")
Decimal('10.96')
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import moneyed

RATED_EXPONENT = Decimal("0.000001")
RATED_PLACES = 6


def as_decimal(value: Decimal | int | str) -> Decimal:
    """Convert an int or a string to Decimal; refuse floats (R1)."""
    if isinstance(value, float):
        raise TypeError("money is never a float (R1): pass a Decimal, an int or a string")
    if isinstance(value, Decimal):
        return value
    return Decimal(value)


def quantize_rated(amount: Decimal) -> Decimal:
    """Round a rated event's exact charge to 6 places, ROUND_HALF_UP (R2)."""
    if type(amount) is not Decimal:  # the engine's amounts are Decimals: no checks to run
        amount = as_decimal(amount)
    return amount.quantize(RATED_EXPONENT, rounding=ROUND_HALF_UP)


@cache
def minor_unit_places(currency: str) -> int:
    """Return the number of decimal places of a currency's minor unit (2 for EUR, 0 for JPY)."""
    sub_unit = moneyed.get_currency(str(currency)).sub_unit
    places = 0
    while sub_unit > 1:
        sub_unit //= 10
        places += 1
    return places


@cache
def minor_unit_exponent(currency: str) -> Decimal:
    """Return the quantum of a currency's minor unit: Decimal('0.01') for EUR (cached: a bill
    run rounds every line)."""
    return Decimal(1).scaleb(-minor_unit_places(currency))


def quantize_minor(amount: Decimal, currency: str) -> Decimal:
    """Round an amount once to the currency's minor unit, ROUND_HALF_UP (R3, R4)."""
    return as_decimal(amount).quantize(minor_unit_exponent(currency), rounding=ROUND_HALF_UP)


def prorate(amount: Decimal, *, days_used: int, days_in_period: int, currency: str) -> Decimal:
    """Prorate a recurring fee by calendar days, rounded to the minor unit (R24)."""
    if days_in_period <= 0:
        raise ValueError("a period has at least one day")
    if not 0 <= days_used <= days_in_period:
        raise ValueError("days used must lie within the period")
    return quantize_minor(as_decimal(amount) * days_used / days_in_period, currency)


def split_gross(gross: Decimal, *, rate: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """Split a tax-inclusive total into (net, tax) so that net + tax == gross (R4)."""
    gross = as_decimal(gross)
    net = quantize_minor(gross / (1 + as_decimal(rate)), currency)
    return net, gross - net


def tax_on_net(net: Decimal, *, rate: Decimal, currency: str) -> Decimal:
    """Compute the tax of one rate on a sum of already-rounded net lines (R4)."""
    return quantize_minor(as_decimal(net) * as_decimal(rate), currency)
