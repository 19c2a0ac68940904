"""The subscribers of shared/scenarios/golden-october.md, built through the services."""

from dataclasses import dataclass

from subscribers.demo import GOLDEN_SUBSCRIBERS, golden_subscribers_create, iccid_for
from tests.catalog.builders import GoldenCatalog

__all__ = ["GOLDEN_SUBSCRIBERS", "GoldenSubscribers", "build_golden_subscribers", "iccid_for"]


@dataclass
class GoldenSubscribers:
    customers: dict
    accounts: dict
    subscriptions: dict


def build_golden_subscribers(catalog: GoldenCatalog, *, acting_user=None) -> GoldenSubscribers:
    """Create customers A, B, C with one postpaid account and one SMART-10 subscription each."""
    customers, accounts, subscriptions = golden_subscribers_create(
        brand=catalog.brand,
        plan=catalog.plan,
        tax_region=catalog.tax_region,
        host_network=catalog.host_network,
        acting_user=acting_user,
    )
    return GoldenSubscribers(customers, accounts, subscriptions)
