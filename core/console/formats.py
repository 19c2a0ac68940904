"""How the console shows quantities and money, the same on every page and document.

Money is ``19.99 EUR``: the amount at its currency's minor unit (core.money), then the code. A
rated amount keeps its 6 decimals (R2) only where precision is the point, and says so. A
quantity in its base unit (R5) reads the way a customer reads a bill: ``45 s``, ``1:35 min``,
``2.00 GB``, ``3 SMS``.
"""

from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from core.money import quantize_minor

_BYTE_STEPS = ((10**9, "GB"), (10**6, "MB"), (10**3, "KB"))
_TWO_PLACES = Decimal("0.01")


def readable_quantity(quantity: int | None, base_unit: str) -> str:
    """Show a quantity of seconds, bytes or messages as a bill shows it."""
    if quantity is None:
        return "—"
    sign, size = ("-", -quantity) if quantity < 0 else ("", quantity)
    if base_unit == "s":
        if size < 60:
            return f"{sign}{size} s"
        minutes, seconds = divmod(size, 60)
        return f"{sign}{minutes:,}:{seconds:02d} min"
    if base_unit == "B":
        for step, name in _BYTE_STEPS:
            if size >= step:
                shown = (Decimal(size) / step).quantize(_TWO_PLACES, ROUND_HALF_UP)
                return f"{sign}{shown:,} {name}"
        return f"{sign}{size} B"
    return f"{sign}{size:,} {base_unit}".rstrip()


def money_text(amount: Decimal | None, currency: str) -> str:
    """Show a price, fee, balance or total at its currency's minor unit: ``19.99 EUR``."""
    if amount is None:
        return "—"
    return f"{quantize_minor(amount, currency):,} {currency}"


def rated_text(amount: Decimal | None, currency: str = "") -> str:
    """Show a rated amount as stored, to 6 decimals (R2): ``0.054167 EUR``."""
    if amount is None:
        return "—"
    return f"{amount:,.6f} {currency}".rstrip()


def percent_text(rate: Decimal | None) -> str:
    """Show a tax rate kept as a fraction the way a bill shows it: ``0.19`` → ``19 %``."""
    if rate is None:
        return "—"
    shown = (Decimal(rate) * 100).normalize()
    return f"{shown:f} %"


def local_text(instant, fmt: str = "%Y-%m-%d %H:%M", *, zone: str | None = None) -> str:
    """Show an instant in the console's time zone (or the given one), saying which: ``… CET``."""
    if instant is None:
        return "—"
    local = instant.astimezone(ZoneInfo(zone or settings.TIME_ZONE))
    return f"{local.strftime(fmt)} {local.tzname()}"
