"""Template filters of the console: one presentation of money and quantities everywhere."""

from django import template

from core.console.formats import money_text, percent_text, rated_text, readable_quantity

register = template.Library()


@register.filter
def money(amount, currency):
    """``{{ amount|money:currency }}`` → ``19.99 EUR``."""
    return money_text(amount, currency)


@register.filter
def rated(amount, currency=""):
    """``{{ amount|rated:currency }}`` → ``0.054167 EUR`` (6 decimals, R2)."""
    return rated_text(amount, currency)


@register.filter
def quantity(value, base_unit):
    """``{{ seconds|quantity:"s" }}`` → ``1:35 min``; bytes → ``2.00 GB``."""
    return readable_quantity(value, base_unit)


@register.filter
def percent(rate):
    """``{{ 0.19|percent }}`` → ``19 %``: a tax rate as a bill shows it."""
    return percent_text(rate)
