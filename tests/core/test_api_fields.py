"""The money fields every API shares (core.api.fields): exact amounts in, exact amounts out."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from rest_framework import serializers

from core.api.fields import (
    InstantField,
    MoneyField,
    MoneyInput,
    MoneyInputField,
    format_amount,
    money,
)
from core.api.filters import InstantFormField


class PriceIn(serializers.Serializer):
    price = MoneyInputField(max_digits=18, decimal_places=6)
    adjustment = MoneyInputField(max_digits=18, decimal_places=2, signed=True, required=False)


def errors_of(data) -> dict:
    form = PriceIn(data=data)
    assert not form.is_valid()
    return form.errors


def test_money_input_keeps_the_exact_value_and_upper_cases_the_unit():
    form = PriceIn(data={"price": {"unit": "eur", "value": "0.019900"}})
    assert form.is_valid(), form.errors
    assert form.validated_data["price"] == MoneyInput(unit="EUR", value=Decimal("0.019900"))


def test_a_value_written_as_a_json_number_is_refused_r1():
    errors = errors_of({"price": {"unit": "EUR", "value": 0.1}})
    assert "string" in str(errors["price"]["value"][0])


SHAPE = 'money is an object {"unit": "EUR", "value": "19.99"}'  # braces and all


@pytest.mark.parametrize(
    ("price", "message"),
    [
        ("19.99", SHAPE),  # not an object
        ({"value": "1.00"}, SHAPE),  # no unit
        ({"unit": "EURO", "value": "1.00"}, "ISO 4217"),
        ({"unit": "EUR", "value": "-1.00"}, "greater than or equal to 0"),  # not signed
        ({"unit": "EUR", "value": "1.0000001"}, "decimal places"),
        ({"unit": "EUR", "value": "abc"}, "valid number"),
    ],
)
def test_bad_money_gets_a_field_error(price, message):
    errors = errors_of({"price": price})
    assert message in str(errors["price"])


def test_signed_money_takes_a_negative_amount():
    form = PriceIn(
        data={
            "price": {"unit": "EUR", "value": "1"},
            "adjustment": {"unit": "EUR", "value": "-2.50"},
        }
    )
    assert form.is_valid(), form.errors
    assert form.validated_data["adjustment"].value == Decimal("-2.50")


def test_amounts_are_written_without_rounding_r1():
    assert format_amount(Decimal("19.990000")) == "19.99"
    assert format_amount(Decimal("0.019900")) == "0.0199"
    assert format_amount(Decimal("10")) == "10.00"
    assert money(None, "EUR") is None
    assert money(Decimal("1.140000"), "EUR") == {"unit": "EUR", "value": "1.14"}


def test_money_field_reads_amount_and_currency_paths():
    class Owner:
        currency = "EUR"

    class Row:
        price = Decimal("0.090000")
        owner = Owner()

    field = MoneyField(amount="price", currency="owner.currency")
    assert field.to_representation(Row()) == {"unit": "EUR", "value": "0.09"}


# --- instants (R6) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-10-15T12:00:00+02:00", "2026-10-15T10:00:00+00:00"),
        ("2026-10-15T12:00:00+14:00", "2026-10-14T22:00:00+00:00"),
        ("2026-10-15T12:00:00-12:00", "2026-10-16T00:00:00+00:00"),
    ],
)
def test_an_instant_is_taken_in_utc(text, utc):
    assert InstantField().run_validation(text).isoformat() == utc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-01-01T00:00:00+16:00", "between -14:00 and +14:00"),  # PostgreSQL refuses it
        ("2026-01-01T00:00:00-14:30", "between -14:00 and +14:00"),
        ("0001-01-01T00:00:00+02:00", "outside the years 1 to 9999"),
        ("9999-12-31T23:00:00-02:00", "outside the years 1 to 9999"),
        ("2026-01-01T00:00:00", "with its UTC offset"),
    ],
)
def test_an_instant_the_database_cannot_hold_is_a_field_error(text, message):
    with pytest.raises(serializers.ValidationError) as refused:
        InstantField().run_validation(text)
    assert message in str(refused.value.detail)


def test_an_instant_filter_reads_the_offset_and_refuses_one_not_in_use():
    field = InstantFormField()
    assert field.clean("2026-10-15T12:00:00 02:00").isoformat() == "2026-10-15T10:00:00+00:00"
    with pytest.raises(ValidationError, match="between -14:00 and"):
        field.clean("2026-10-15T12:00:00+16:00")
