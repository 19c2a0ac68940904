"""Rerating after a catalogue correction (R15): amounts before and after, buckets intact."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from catalog import services as catalog_services
from catalog.models import RateRow, Zone
from charging.models import RatingStatus, RerateChange, RerateStatus, UsageEvent
from charging.rerating import rerate_job_create
from charging.services import usage_file_ingest
from subscribers.models import Bucket
from subscribers.services import bucket_remaining

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
OCTOBER = (
    dt.datetime(2026, 9, 30, 22, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 31, 23, tzinfo=dt.UTC),
)


@pytest.fixture
def rated_october(golden_subscribers):
    for name in ("CDR_HOSTNET_20261101000500_000001.csv", "CDR_HOSTNET_20261101001000_000002.csv"):
        usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
    return golden_subscribers


def _correct_world1_voice(catalog, *, effective_from):
    """Publish SMART-10 v2 whose WORLD1 outgoing calls cost 0.99 instead of 1.49."""
    card = catalog_services.rate_card_clone(rate_card=catalog.retail_card, code="SMART-10-FIX")
    world1 = Zone.objects.get(table=catalog.zone_table, zone_type="roaming", code="WORLD1")
    row = RateRow.objects.get(rate_card=card, service="VOICE_OUT", roaming_zones=world1)
    catalog_services.rate_row_save(
        rate_card=card,
        row=row,
        data={"service": "VOICE_OUT", "price": Decimal("0.99"), "unit": "MINUTE",
              "increment_first": 60, "increment_next": 60, "roaming_zones": [world1]},
    )  # fmt: skip
    catalog_services.rate_card_publish(rate_card=card)
    version = catalog_services.plan_version_clone(
        version=catalog.version, effective_from=effective_from
    )
    catalog_services.plan_version_update(version=version, data={"rate_card": card})
    return catalog_services.plan_version_publish(version=version)


def test_rerating_an_account_records_before_and_after_of_changed_events(
    rated_october, golden_catalog
):
    account = rated_october.accounts["A"]
    buckets_before = {b.pk: bucket_remaining(b) for b in Bucket.objects.all()}
    _correct_world1_voice(
        golden_catalog, effective_from=dt.datetime(2026, 10, 14, 22, tzinfo=dt.UTC)
    )
    job = rerate_job_create(
        scope="account", billing_account=account, start=OCTOBER[0], end=OCTOBER[1],
        reason="WORLD1 voice price corrected", run_now=True,
    )  # fmt: skip
    assert job.status == RerateStatus.DONE
    assert job.events_total == 16  # A's events, A15 in error included
    change = RerateChange.objects.get(job=job)
    assert change.usage_event.record_id == "A10"
    assert (change.retail_before, change.retail_after) == (Decimal("5.960000"), Decimal("3.960000"))
    assert change.wholesale_before == change.wholesale_after == Decimal("1.166667")
    a10 = UsageEvent.objects.get(record_id="A10")
    assert a10.retail_amount == Decimal("3.960000")
    assert a10.plan_version.version == 2
    # R11/R12: drawing again after taking the draws back leaves every bucket as it was.
    assert {b.pk: bucket_remaining(b) for b in Bucket.objects.all()} == buckets_before
    a13 = UsageEvent.objects.get(record_id="A13")
    assert (a13.covered_units, a13.retail_amount) == (5755, Decimal("0.054167"))


def test_rerating_twice_changes_nothing_the_second_time(rated_october):
    account = rated_october.accounts["A"]
    first = rerate_job_create(scope="account", billing_account=account, start=OCTOBER[0],
                              end=OCTOBER[1], reason="check", run_now=True)  # fmt: skip
    assert first.events_changed == 0
    assert RerateChange.objects.count() == 0


def test_rerating_the_error_queue_rates_events_once_a_rate_exists(rated_october, golden_catalog):
    card = catalog_services.rate_card_clone(rate_card=golden_catalog.retail_card, code="SMART-W2")
    world2 = Zone.objects.get(table=golden_catalog.zone_table, zone_type="roaming", code="WORLD2")
    catalog_services.rate_row_save(
        rate_card=card,
        data={"service": "VOICE_OUT", "price": Decimal("2.49"), "unit": "MINUTE",
              "increment_first": 60, "increment_next": 60, "roaming_zones": [world2]},
    )  # fmt: skip
    catalog_services.rate_card_publish(rate_card=card)
    version = catalog_services.plan_version_clone(
        version=golden_catalog.version, effective_from=dt.datetime(2026, 10, 21, tzinfo=dt.UTC)
    )
    catalog_services.plan_version_update(version=version, data={"rate_card": card})
    catalog_services.plan_version_publish(version=version)
    job = rerate_job_create(scope="period", start=OCTOBER[0], end=OCTOBER[1], errors_only=True,
                            reason="WORLD2 voice rate added", run_now=True)  # fmt: skip
    assert job.events_total == 1
    a15 = UsageEvent.objects.get(record_id="A15")
    # HOSTNET's wholesale card has no WORLD2 voice either: still an error, never a zero cost.
    assert (a15.rating_status, a15.rating_error) == (RatingStatus.ERROR, "NO_WHOLESALE_RATE")
    wholesale = catalog_services.rate_card_clone(
        rate_card=golden_catalog.wholesale_card, code="HOSTNET-W2"
    )
    catalog_services.rate_row_save(
        rate_card=wholesale,
        data={"service": "VOICE_OUT", "price": Decimal("0.60"), "unit": "MINUTE",
              "roaming_zones": [world2]},
    )  # fmt: skip
    wholesale = catalog_services.rate_card_publish(rate_card=wholesale)
    catalog_services.host_network_tariff_set(
        host_network=golden_catalog.host_network,
        rate_card=wholesale,
        effective_from=dt.datetime(2026, 10, 21, tzinfo=dt.UTC),
    )
    rerate_job_create(scope="period", start=OCTOBER[0], end=OCTOBER[1], errors_only=True,
                      reason="WORLD2 wholesale rate added", run_now=True)  # fmt: skip
    a15.refresh_from_db()
    assert a15.rating_status == RatingStatus.RATED
    assert (a15.retail_amount, a15.wholesale_amount) == (Decimal("2.490000"), Decimal("0.600000"))


def test_a_rerate_window_must_make_sense(golden_subscribers):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        rerate_job_create(scope="period", start=OCTOBER[1], end=OCTOBER[0], reason="x")
    with pytest.raises(ValidationError):
        rerate_job_create(scope="account", start=OCTOBER[0], end=OCTOBER[1], reason="x")
