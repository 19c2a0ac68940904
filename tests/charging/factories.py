"""Builders for the charging tests: CDR lines and files, a rating catalogue, subscribers.

The catalogue is the golden scenario's (tests/catalog/builders.py) plus a few plans and add-ons
that exercise what the scenario does not: fair use (throttle and overage), a shared pool, a
tax-inclusive plan, a plan whose first version starts later, add-ons that expire with the period
or after a week, and a second host network. Everything goes through the catalogue and subscriber
services, as an operator would build it.
"""

import datetime as dt
import gzip
from dataclasses import dataclass
from decimal import Decimal

from catalog import services as catalog_services
from catalog.models import AddOn, HostNetwork, Plan, PlanVersion
from charging.cdr import HEADER, UsageRecord, parse_line
from charging.engine import AccountInfo, BucketState
from core.periods import local_midnight
from subscribers import services as subscriber_services
from subscribers.demo import iccid_for
from subscribers.selectors import TermData
from tests.catalog.builders import BERLIN, OCTOBER_START, GoldenCatalog, build_golden_catalog

NOVEMBER_START = dt.datetime(2026, 10, 31, 23, 0, tzinfo=dt.UTC)  # 2026-11-01 00:00 Berlin
BERLIN_ACCOUNT = AccountInfo(BERLIN, 1)
GB = 1_000_000_000

FIELDS = HEADER.split(",")


def cdr_line(record_id: str, record_type: str = "MOC", **values) -> str:
    """Return one record line; any column can be given by name (``duration="61"``).

    Defaults: customer A of the scenario calling a German mobile at home on Monday
    2026-10-05 09:00 Berlin (PEAK) for 60 s.
    """
    row = {
        "record_id": record_id,
        "record_type": record_type,
        "served_msisdn": "4915112340001",
        "served_imsi": "",
        "event_time": "20261005090000",
        "utc_offset": "+0200",
        "duration": "60" if record_type in ("MOC", "MTC", "PGW") else "",
        "other_party": "" if record_type == "PGW" else "4917012345678",
        "volume_uplink": "",
        "volume_downlink": "",
        "apn": "internet" if record_type == "PGW" else "",
        "visited_plmn": "26203",
        "cause_for_termination": "NORMAL",
        "charging_id": "",
    }
    unknown = set(values) - set(row)
    if unknown:
        raise KeyError(f"no such column: {sorted(unknown)}")
    row.update(values)
    return ",".join(row[name] for name in FIELDS)


def cdr_file(
    lines, *, trailer: int | str | None = "count", newline: str = "\n", bom: bool = False
) -> bytes:
    """Return a file's bytes: header, record lines and a trailer (its count by default)."""
    lines = list(lines)
    parts = [HEADER, *lines]
    if trailer == "count":
        parts.append(f"TRAILER,{sum(1 for line in lines if line)}")
    elif trailer is not None:
        parts.append(f"TRAILER,{trailer}")
    text = newline.join(parts) + newline
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def file_name(sequence: int, *, source: str = "HOSTNET", gz: bool = False) -> str:
    return f"CDR_{source}_20261101000500_{sequence:06d}.csv" + (".gz" if gz else "")


def gzipped(content: bytes) -> bytes:
    return gzip.compress(content)


def record(record_id: str, record_type: str = "MOC", **values) -> UsageRecord:
    """Return a parsed record (line 2 of a file)."""
    return parse_line(cdr_line(record_id, record_type, **values), line_number=2)


def data_record(record_id: str, volume: int, **values) -> UsageRecord:
    """A data session of ``volume`` bytes (all downlink)."""
    return record(record_id, "PGW", volume_uplink="0", volume_downlink=str(volume), **values)


def term_on(plan, *, subscription_id: int = 910_001, account_id: int = 920_001) -> TermData:
    """A subscription term on ``plan`` active all of 2026 (for engine-level tests)."""
    return TermData(
        subscription_id=subscription_id,
        billing_account_id=account_id,
        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        valid_to=None,
        msisdn="4915112340001",
        imsi="",
        plan_id=plan.pk,
        status="active",
    )


def bucket_state(
    bucket_id: int,
    *,
    services=("VOICE_OUT",),
    remaining: int = 6_000,
    valid_from: dt.datetime = OCTOBER_START,
    valid_to: dt.datetime = NOVEMBER_START,
    from_plan: bool = True,
    plan=None,
    shared: bool = False,
    destination_zones=(),
    roaming_zones=(),
    subscription_id: int = 910_001,
    account_id: int = 920_001,
) -> BucketState:
    """A bucket as the engine draws it (R11)."""
    return BucketState(
        id=bucket_id,
        subscription_id=None if shared else subscription_id,
        billing_account_id=account_id,
        shared=shared,
        from_plan=from_plan,
        plan_id=plan.pk if plan is not None else None,
        services=frozenset(services),
        destination_zones=frozenset(destination_zones),
        roaming_zones=frozenset(roaming_zones),
        valid_from=valid_from,
        valid_to=valid_to,
        remaining=remaining,
    )


@dataclass
class RatingCatalogue:
    golden: GoldenCatalog
    plans: dict[str, Plan]
    versions: dict[str, PlanVersion]
    add_ons: dict[str, AddOn]
    other_network: HostNetwork


def _plan(golden: GoldenCatalog, code: str, *, effective_from=OCTOBER_START, **version_data):
    plan = catalog_services.plan_save(
        code=code, name=code.title(), brand=golden.brand, payment_model="postpaid",
        currency="EUR",
    )  # fmt: skip
    version = catalog_services.plan_version_create(
        plan=plan,
        data={"effective_from": effective_from, "rate_card": golden.retail_card,
              "recurring_fee": Decimal("9.99"), "tax_category": golden.tax_category,
              **version_data},
    )  # fmt: skip
    return plan, version


def _add_on(golden: GoldenCatalog, code: str, allowance: dict, **data) -> AddOn:
    add_on = catalog_services.add_on_save(
        data={"code": code, "name": code.title(), "kind": "one_off", "currency": "EUR",
              "price": Decimal("2.00"), "zone_table": golden.zone_table, **data},
    )  # fmt: skip
    catalog_services.allowance_save(owner=add_on, data=allowance)
    return catalog_services.add_on_publish(add_on=add_on)


def build_rating_catalogue() -> RatingCatalogue:
    """Build the golden catalogue and the extra plans, add-ons and network of these tests.

    - FAIR-T: 1 GB of data included (HOME, EU), then a 2 GB fair-use cap that throttles.
    - FAIR-O: no allowance, a 1 GB fair-use cap, then 5.00 per GB overage.
    - FAMILY: a shared 5 GB data pool for the account (R11).
    - GROSS: tax-inclusive prices (R4), no allowance.
    - LATE: its first version takes effect on 2026-11-01.
    - add-ons VOICE-EXTRA (10 min national + EU, until the period ends), DATA-WEEK (1 GB for
      7 days), WORLD-30 (30 min to WORLD destinations).
    - OTHERNET: a second host network (PLMN 20801) priced by HOSTNET's card from 2026-10-15.
    """
    golden = build_golden_catalog()
    D, R = golden.destination, golden.roaming
    home_eu = R("HOME", "EU")
    plans, versions = {"SMART-10": golden.plan}, {"SMART-10": golden.version}

    plan, version = _plan(golden, "FAIR-T")
    catalog_services.allowance_save(
        owner=version,
        data={"name": "Data 1 GB", "services": ["DATA"], "quantity": 1, "unit": "GB",
              "roaming_zones": home_eu},
    )  # fmt: skip
    catalog_services.fair_use_policy_save(
        version=version,
        data={"name": "Data 2 GB fair use", "services": ["DATA"], "cap_quantity": 2,
              "cap_unit": "GB", "action": "throttle"},
    )  # fmt: skip
    plans["FAIR-T"], versions["FAIR-T"] = plan, version

    plan, version = _plan(golden, "FAIR-O")
    catalog_services.fair_use_policy_save(
        version=version,
        data={"name": "Data 1 GB then overage", "services": ["DATA"], "cap_quantity": 1,
              "cap_unit": "GB", "action": "overage", "overage_price": Decimal("5.00"),
              "overage_unit": "GB"},
    )  # fmt: skip
    plans["FAIR-O"], versions["FAIR-O"] = plan, version

    plan, version = _plan(golden, "FAMILY")
    catalog_services.allowance_save(
        owner=version,
        data={"name": "Family data 5 GB", "services": ["DATA"], "quantity": 5, "unit": "GB",
              "shared": True},
    )  # fmt: skip
    plans["FAMILY"], versions["FAMILY"] = plan, version

    plans["GROSS"], versions["GROSS"] = _plan(golden, "GROSS", tax_inclusive=True)
    plans["LATE"], versions["LATE"] = _plan(golden, "LATE", effective_from=NOVEMBER_START)

    for code in ("FAIR-T", "FAIR-O", "FAMILY", "GROSS", "LATE"):
        versions[code] = catalog_services.plan_version_publish(version=versions[code])

    national_eu = D("NAT_MOBILE", "NAT_FIXED", "EU")
    add_ons = {
        "VOICE-EXTRA": _add_on(
            golden, "VOICE-EXTRA",
            {"name": "Voice 10 min", "services": ["VOICE_OUT"], "quantity": 10,
             "unit": "MINUTE", "destination_zones": national_eu, "roaming_zones": home_eu},
        ),
        "DATA-WEEK": _add_on(
            golden, "DATA-WEEK",
            {"name": "Data 1 GB", "services": ["DATA"], "quantity": 1, "unit": "GB"},
            validity_days=7,
        ),
        "WORLD-30": _add_on(
            golden, "WORLD-30",
            {"name": "World 30 min", "services": ["VOICE_OUT"], "quantity": 30,
             "unit": "MINUTE", "destination_zones": D("WORLD")},
        ),
    }  # fmt: skip
    other = catalog_services.host_network_save(
        code="OTHERNET", name="Other Network SA", plmn_codes=["20801"], country_code="33"
    )
    catalog_services.host_network_tariff_set(
        host_network=other,
        rate_card=golden.wholesale_card,
        effective_from=dt.datetime(2026, 10, 15, tzinfo=dt.UTC),
    )
    return RatingCatalogue(golden, plans, versions, add_ons, other)


def subscriber_add(
    catalogue: RatingCatalogue,
    *,
    plan_code: str,
    msisdn: str,
    imsi: str,
    active_from: dt.date = dt.date(2026, 10, 1),
    billing_account=None,
    name: str = "Test",
):
    """Create (or reuse) a postpaid Berlin account and an active subscription on a plan."""
    golden = catalogue.golden
    if billing_account is None:
        customer = subscriber_services.customer_save(
            data={"brand": golden.brand, "kind": "person", "first_name": name,
                  "last_name": f"Subscriber {msisdn[-4:]}", "country": "DE"},
        )  # fmt: skip
        billing_account = subscriber_services.billing_account_save(
            customer=customer,
            data={"name": name, "currency": "EUR", "timezone": BERLIN, "bill_cycle_day": 1,
                  "payment_terms_days": 14, "tax_region": golden.tax_region,
                  "payment_model": "postpaid"},
        )  # fmt: skip
    batch = subscriber_services.sim_batch_load(
        reference=f"SIM-{imsi}",
        host_network=golden.host_network,
        csv_text=f"iccid,imsi\n{iccid_for(imsi)},{imsi}\n",
    )
    subscription = subscriber_services.subscription_create(
        billing_account=billing_account,
        plan=catalogue.plans[plan_code],
        msisdn=msisdn,
        sim=batch.sims.get(),
        created_at=local_midnight(active_from - dt.timedelta(days=1), BERLIN),
    )
    return subscriber_services.subscription_activate(
        subscription=subscription, effective_at=local_midnight(active_from, BERLIN)
    )
