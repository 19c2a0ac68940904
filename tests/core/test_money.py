"""Rounding rules R1-R4 and R24 in core.money."""

import doctest
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import core.money
from core.money import prorate, quantize_minor, quantize_rated, split_gross, tax_on_net


def test_money_doctests_pass():
    result = doctest.testmod(core.money)
    assert result.failed == 0
    assert result.attempted >= 5


def test_rated_amount_rounds_half_up_to_six_places():
    assert quantize_rated(Decimal("0.0000005")) == Decimal("0.000001")
    assert quantize_rated(Decimal("0.0000004999")) == Decimal("0.000000")
    assert quantize_rated(Decimal("3.0000015")) == Decimal("3.000002")


def test_float_is_refused_as_money():
    with pytest.raises(TypeError):
        quantize_rated(0.1)


def test_minor_unit_follows_the_currency():
    assert quantize_minor(Decimal("10.005"), "EUR") == Decimal("10.01")
    assert quantize_minor(Decimal("10.5"), "JPY") == Decimal("11")
    assert quantize_minor(Decimal("1.0005"), "BHD") == Decimal("1.001")


def test_golden_october_prorations():
    assert prorate(Decimal("19.99"), days_used=17, days_in_period=31, currency="EUR") == Decimal(
        "10.96"
    )
    assert prorate(Decimal("19.99"), days_used=19, days_in_period=31, currency="EUR") == Decimal(
        "12.25"
    )


def test_tax_is_computed_on_the_rounded_net_sum():
    assert tax_on_net(Decimal("52.19"), rate=Decimal("0.19"), currency="EUR") == Decimal("9.92")
    assert tax_on_net(Decimal("30.95"), rate=Decimal("0.19"), currency="EUR") == Decimal("5.88")


@given(st.decimals(min_value=0, max_value=10**7, places=2), st.sampled_from(["0.19", "0.07"]))
def test_gross_split_adds_up_exactly(gross, rate):
    net, tax = split_gross(gross, rate=Decimal(rate), currency="EUR")
    assert net + tax == gross
    assert net == net.quantize(Decimal("0.01"))
