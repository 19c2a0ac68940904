"""The catalogue's demo data: the scenario's catalogue and more plans, loaded idempotently."""

from decimal import Decimal

import pytest
from django.apps import apps

from catalog import demo
from catalog.document import catalog_export
from catalog.models import AddOn, FairUseAction, Plan, PlanVersion, Promotion, Status
from tests.catalog.builders import build_golden_catalog

pytestmark = pytest.mark.django_db


def catalog_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_app_config("catalog").get_models()
    }


def test_demo_loads_the_scenario_and_more_plans():
    summary = demo.load()

    assert summary.startswith("golden-october.yaml: created 12")
    assert sorted(Plan.objects.values_list("code", "payment_model")) == [
        ("DATA-30", "postpaid"),
        ("FLEX", "prepaid"),
        ("FLEX-PLUS", "prepaid"),
        ("SMART-10", "postpaid"),
    ]
    data_30 = PlanVersion.objects.get(plan__code="DATA-30", version=1)
    policy = data_30.fair_use_policies.get()
    assert (policy.action, policy.cap_quantity, policy.cap_unit) == (
        FairUseAction.THROTTLE,
        30,
        "GB",
    )
    assert PlanVersion.objects.get(plan__code="DATA-30", version=2).status == Status.DRAFT
    assert PlanVersion.objects.get(plan__code="FLEX").tax_inclusive
    add_on = AddOn.objects.get(code="DATA-5GB")
    assert (add_on.status, add_on.price) == (Status.PUBLISHED, Decimal("4.990000"))
    assert list(add_on.eligible_plans.values_list("code", flat=True)) == ["FLEX"]
    promotion = Promotion.objects.get(code="WELCOME-50")
    assert sorted(promotion.eligible_plans.values_list("code", flat=True)) == [
        "DATA-30",
        "SMART-10",
    ]


def test_loading_the_demo_again_changes_nothing():
    demo.load()
    counts, exported = catalog_counts(), catalog_export()

    summary = demo.load()

    assert "created 0, updated 0" in summary
    assert "published 0" in summary
    assert catalog_counts() == counts
    assert catalog_export() == exported


def test_demo_loads_over_the_catalogue_built_by_the_services():
    build_golden_catalog()

    summary = demo.load()

    assert summary.startswith("golden-october.yaml: created 0, updated 0, unchanged 12")
    assert Plan.objects.count() == 4
