"""Builders for the online charging tests: prepaid and hybrid plans on the golden catalogue.

- PRE-10 (prepaid): Data 1 GB (HOME, EU) and SMS 10 (national and EU) per period, the golden
  retail card (voice national peak 0.09/min 60/60, SMS 0.09, data 1.99/GB).
- PRE-FAMILY (prepaid): a shared family data pool of 100 MB, nothing else included.
- HYB-10 (hybrid): no allowance, the same card.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from catalog import services as catalog_services
from core.periods import local_midnight
from subscribers import services as subscriber_services
from subscribers.demo import iccid_for
from tests.catalog.builders import BERLIN, OCTOBER_START, GoldenCatalog, build_golden_catalog

MB = 1_000_000


@dataclass
class OnlineCatalogue:
    golden: GoldenCatalog
    plans: dict


def _plan(golden, code: str, payment_model: str, allowances=()):
    plan = catalog_services.plan_save(
        code=code, name=code.title(), brand=golden.brand, payment_model=payment_model,
        currency="EUR",
    )  # fmt: skip
    version = catalog_services.plan_version_create(
        plan=plan,
        data={"effective_from": OCTOBER_START, "rate_card": golden.retail_card,
              "recurring_fee": Decimal("0.00"), "tax_category": golden.tax_category},
    )  # fmt: skip
    for allowance in allowances:
        catalog_services.allowance_save(owner=version, data=allowance)
    catalog_services.plan_version_publish(version=version)
    return plan


def build_online_catalogue() -> OnlineCatalogue:
    golden = build_golden_catalog()
    D, R = golden.destination, golden.roaming
    home_eu = R("HOME", "EU")
    plans = {
        "PRE-10": _plan(
            golden, "PRE-10", "prepaid",
            [{"name": "Data 1 GB", "services": ["DATA"], "quantity": 1, "unit": "GB",
              "roaming_zones": home_eu},
             {"name": "SMS 10", "services": ["SMS_OUT"], "quantity": 10, "unit": "MESSAGE",
              "roaming_zones": home_eu, "destination_zones": D("NAT_MOBILE", "NAT_FIXED", "EU")}],
        ),
        "PRE-FAMILY": _plan(
            golden, "PRE-FAMILY", "prepaid",
            [{"name": "Family data 100 MB", "services": ["DATA"], "quantity": 100, "unit": "MB",
              "shared": True}],
        ),
        "HYB-10": _plan(golden, "HYB-10", "hybrid"),
    }  # fmt: skip
    return OnlineCatalogue(golden, plans)


def online_account(catalogue: OnlineCatalogue, *, payment_model="prepaid", credit_limit="0",
                   balance="10.00", name="Online"):  # fmt: skip
    """A Berlin account of the payment model, topped up with ``balance``."""
    golden = catalogue.golden
    customer = subscriber_services.customer_save(
        data={"brand": golden.brand, "kind": "person", "first_name": name,
              "last_name": "Subscriber", "country": "DE"},
    )  # fmt: skip
    account = subscriber_services.billing_account_save(
        customer=customer,
        data={"name": name, "currency": "EUR", "timezone": BERLIN, "bill_cycle_day": 1,
              "payment_terms_days": 14, "tax_region": golden.tax_region,
              "payment_model": payment_model, "credit_limit": Decimal(credit_limit)},
    )  # fmt: skip
    if Decimal(balance) > 0:
        subscriber_services.top_up(
            billing_account=account, amount=Decimal(balance), channel="console",
            reference=f"TOPUP-{account.number}",
        )  # fmt: skip
    return account


def online_subscriber(catalogue: OnlineCatalogue, *, plan_code: str, msisdn: str, imsi: str,
                      account=None, **account_data):  # fmt: skip
    """An active subscription (from 2026-10-01 Berlin) on a prepaid or hybrid plan."""
    golden = catalogue.golden
    plan = catalogue.plans[plan_code]
    if account is None:
        account = online_account(catalogue, payment_model=plan.payment_model, **account_data)
    batch = subscriber_services.sim_batch_load(
        reference=f"SIM-{imsi}",
        host_network=golden.host_network,
        csv_text=f"iccid,imsi\n{iccid_for(imsi)},{imsi}\n",
    )
    subscription = subscriber_services.subscription_create(
        billing_account=account,
        plan=plan,
        msisdn=msisdn,
        sim=batch.sims.get(),
        created_at=local_midnight(dt.date(2026, 9, 30), BERLIN),
    )
    return subscriber_services.subscription_activate(
        subscription=subscription, effective_at=local_midnight(dt.date(2026, 10, 1), BERLIN)
    )
