"""The subscribers of shared/scenarios/golden-october.md, built through the services."""

import datetime as dt
from dataclasses import dataclass

from stdnum import luhn

from core.periods import local_midnight
from subscribers import services
from tests.catalog.builders import BERLIN, GoldenCatalog

GOLDEN_SUBSCRIBERS = [
    # key, first name, last name, MSISDN, IMSI, ordered, active from, terminated on
    ("A", "Anna", "Schmidt", "4915112340001", "262031234500001",
     dt.date(2026, 9, 20), dt.date(2026, 10, 1), None),
    ("B", "Ben", "Müller", "4915112340002", "262031234500002",
     dt.date(2026, 10, 10), dt.date(2026, 10, 15), None),
    ("C", "Carla", "Weber", "4915112340003", "262031234500003",
     dt.date(2026, 9, 20), dt.date(2026, 10, 1), dt.date(2026, 10, 20)),
]  # fmt: skip


def iccid_for(imsi: str) -> str:
    """A valid ICCID (Luhn check digit) derived from an IMSI, for test and demo SIMs."""
    body = f"894903{imsi[-12:]}"
    return body + luhn.calc_check_digit(body)


@dataclass
class GoldenSubscribers:
    customers: dict
    accounts: dict
    subscriptions: dict


def build_golden_subscribers(catalog: GoldenCatalog, *, acting_user=None) -> GoldenSubscribers:
    """Create customers A, B, C with one postpaid account and one SMART-10 subscription each."""
    sims_csv = "iccid,imsi\n" + "".join(
        f"{iccid_for(row[4])},{row[4]}\n" for row in GOLDEN_SUBSCRIBERS
    )
    batch = services.sim_batch_load(
        reference="GOLDEN-SIMS",
        host_network=catalog.host_network,
        csv_text=sims_csv,
        acting_user=acting_user,
    )
    sims = {sim.imsi: sim for sim in batch.sims.all()}
    customers, accounts, subscriptions = {}, {}, {}
    for key, first, last, msisdn, imsi, ordered, active_from, terminated in GOLDEN_SUBSCRIBERS:
        customer = services.customer_save(
            data={"brand": catalog.brand, "kind": "person", "first_name": first,
                  "last_name": last, "country": "DE", "language": "de"},
            acting_user=acting_user,
        )  # fmt: skip
        account = services.billing_account_save(
            customer=customer,
            data={"name": f"{first} {last}", "currency": "EUR", "timezone": BERLIN,
                  "bill_cycle_day": 1, "payment_terms_days": 14, "tax_region": catalog.tax_region,
                  "payment_model": "postpaid"},
            acting_user=acting_user,
        )  # fmt: skip
        subscription = services.subscription_create(
            billing_account=account,
            plan=catalog.plan,
            msisdn=msisdn,
            sim=sims[imsi],
            created_at=local_midnight(ordered, BERLIN),
            acting_user=acting_user,
        )
        subscription = services.subscription_activate(
            subscription=subscription,
            effective_at=local_midnight(active_from, BERLIN),
            acting_user=acting_user,
        )
        if terminated:
            subscription = services.subscription_terminate(
                subscription=subscription,
                effective_at=local_midnight(terminated, BERLIN),
                acting_user=acting_user,
            )
        customers[key], accounts[key], subscriptions[key] = customer, account, subscription
    return GoldenSubscribers(customers, accounts, subscriptions)
