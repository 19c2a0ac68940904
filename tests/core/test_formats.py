"""One presentation of quantities and money (core.console.formats)."""

from decimal import Decimal

import pytest

from core.console.formats import money_text, rated_text, readable_quantity


@pytest.mark.parametrize(
    ("quantity", "unit", "shown"),
    [
        (45, "s", "45 s"),
        (95, "s", "1:35 min"),
        (5820, "s", "97:00 min"),
        (-2000001000, "B", "-2.00 GB"),
        (6_240_000, "B", "6.24 MB"),
        (1_500, "B", "1.50 KB"),
        (999, "B", "999 B"),
        (3, "SMS", "3 SMS"),
        (None, "s", "—"),
    ],
)
def test_quantities_read_as_on_a_bill(quantity, unit, shown):
    assert readable_quantity(quantity, unit) == shown


def test_money_is_shown_at_the_minor_unit_with_its_currency():
    assert money_text(Decimal("19.99"), "EUR") == "19.99 EUR"
    assert money_text(Decimal("12.218343"), "EUR") == "12.22 EUR"
    assert money_text(Decimal("1234.5"), "GBP") == "1,234.50 GBP"
    assert money_text(Decimal("1234.5"), "JPY") == "1,235 JPY"


def test_a_rated_amount_keeps_its_six_decimals():
    assert rated_text(Decimal("0.054167"), "EUR") == "0.054167 EUR"


def test_an_instant_is_shown_in_the_console_time_zone_and_says_which():
    import datetime as dt

    from core.console.formats import local_text

    midnight_berlin = dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)
    assert local_text(midnight_berlin) == "2026-10-01 00:00 CEST"
    assert local_text(dt.datetime(2026, 11, 1, 9, 5, tzinfo=dt.UTC)) == "2026-11-01 10:05 CET"
