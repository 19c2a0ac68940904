"""``__any``: membership in a list of ids as one array parameter (core.lookups)."""

import datetime as dt

import pytest
from django.db import connection

from subscribers.models import BillingAccount, Subscription
from tests.invoicing.builders import account_add, plan_add, subscription_add, world_build

pytestmark = pytest.mark.django_db


def test_any_selects_what_in_selects_for_fields_and_foreign_keys():
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    accounts = [account_add(world, name=f"L{i}") for i in range(4)]
    for account in accounts:
        subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 1))
    wanted = [accounts[0].pk, accounts[2].pk]

    by_any = Subscription.objects.filter(billing_account_id__any=wanted)
    by_in = Subscription.objects.filter(billing_account_id__in=wanted)

    assert sorted(by_any.values_list("pk", flat=True)) == sorted(by_in.values_list("pk", flat=True))
    assert by_any.count() == 2
    assert BillingAccount.objects.filter(pk__any={accounts[1].pk}).get() == accounts[1]
    assert Subscription.objects.filter(billing_account__any=wanted).count() == 2
    assert not Subscription.objects.filter(billing_account_id__any=[]).exists()


def test_any_sends_one_array_parameter_on_postgresql():
    query = str(Subscription.objects.filter(billing_account_id__any=[1, 2, 3]).query)
    if connection.vendor == "postgresql":
        assert "= ANY(" in query
    else:
        assert " IN (" in query
