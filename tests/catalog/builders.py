"""The catalogue of shared/scenarios/golden-october.md, built through the catalogue services."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from catalog import services
from catalog.models import Zone, ZoneKind, ZoneType

BERLIN = "Europe/Berlin"
OCTOBER_START = dt.datetime(2026, 9, 30, 22, 0, tzinfo=dt.UTC)  # 2026-10-01 00:00 Berlin

DESTINATIONS = {
    "FREE": ["49800"],
    "PREMIUM": ["49900"],
    "NAT_MOBILE": ["4915", "4916", "4917"],
    "NAT_FIXED": ["49"],
    "EU": ["31", "33", "34", "39", "43", "48"],
}
ROAMING = {"EU": ["204", "208", "214", "222", "232", "260"], "WORLD1": ["302", "310", "311"]}


@dataclass
class GoldenCatalog:
    brand: object
    zone_table: object
    band_set: object
    retail_card: object
    wholesale_card: object
    host_network: object
    plan: object
    version: object
    tax_region: object
    tax_category: object

    def destination(self, *codes):
        return list(
            Zone.objects.filter(
                table=self.zone_table, zone_type=ZoneType.DESTINATION, code__in=codes
            )
        )

    def roaming(self, *codes):
        return list(
            Zone.objects.filter(table=self.zone_table, zone_type=ZoneType.ROAMING, code__in=codes)
        )


def build_golden_catalog(*, acting_user=None, publish: bool = True) -> GoldenCatalog:
    """Build zones, bands, SMART-10 v1, HOSTNET's wholesale card and VAT 19 %."""
    brand = services.brand_save(code="LOREM", name="Lorem Mobile")
    category = services.tax_category_save(code="TELECOM", name="Telecommunication services")
    region = services.tax_region_save(code="DE", name="Germany")
    services.tax_rate_set(
        region=region, category=category, rate=Decimal("0.19"), valid_from=dt.date(2020, 1, 1)
    )
    table = services.zone_table_save(code="DE", name="Lorem Mobile numbering plan")
    for code, prefixes in DESTINATIONS.items():
        services.zone_save(table=table, zone_type=ZoneType.DESTINATION, code=code, members=prefixes)
    services.zone_save(
        table=table, zone_type=ZoneType.DESTINATION, code="WORLD", kind=ZoneKind.REST
    )
    services.zone_save(
        table=table, zone_type=ZoneType.DESTINATION, code="INCOMING", kind=ZoneKind.INCOMING
    )
    services.zone_save(table=table, zone_type=ZoneType.ROAMING, code="HOME", kind=ZoneKind.HOME)
    for code, networks in ROAMING.items():
        services.zone_save(table=table, zone_type=ZoneType.ROAMING, code=code, members=networks)
    services.zone_save(table=table, zone_type=ZoneType.ROAMING, code="WORLD2", kind=ZoneKind.REST)
    band_set = services.time_band_set_save(
        code="DE_PEAK",
        name="Peak weekdays 08-20, off-peak the rest",
        timezone_name=BERLIN,
        bands=[
            {
                "code": "PEAK",
                "name": "Peak",
                "windows": [
                    {"days": [1, 2, 3, 4, 5], "start_time": dt.time(8), "end_time": dt.time(20)}
                ],
            },
            {"code": "OFFPEAK", "name": "Off-peak", "is_rest": True, "windows": []},
        ],
    )
    peak, offpeak = band_set.bands.get(code="PEAK"), band_set.bands.get(code="OFFPEAK")
    golden = GoldenCatalog(
        brand=brand,
        zone_table=table,
        band_set=band_set,
        retail_card=None,
        wholesale_card=None,
        host_network=None,
        plan=None,
        version=None,
        tax_region=region,
        tax_category=category,
    )
    D, R = golden.destination, golden.roaming
    home_eu = R("HOME", "EU")
    national = D("NAT_MOBILE", "NAT_FIXED")
    retail = services.rate_card_save(
        code="SMART-10-2026",
        name="SMART-10 retail prices",
        kind="retail",
        currency="EUR",
        zone_table=table,
        time_band_set=band_set,
    )
    minute = {"unit": "MINUTE"}
    rows = [
        dict(service="VOICE_OUT", roaming_zones=home_eu, destination_zones=national,
             time_band=peak, price="0.09", increment_first=60, increment_next=60, **minute),
        dict(service="VOICE_OUT", roaming_zones=home_eu, destination_zones=national,
             time_band=offpeak, price="0.05", increment_first=60, increment_next=60, **minute),
        dict(service="VOICE_OUT", roaming_zones=home_eu, destination_zones=D("EU"),
             price="0.19", increment_first=60, increment_next=1, **minute),
        dict(service="VOICE_OUT", roaming_zones=home_eu, destination_zones=D("WORLD"),
             price="0.99", increment_first=60, increment_next=60, connection_fee="0.15", **minute),
        dict(service="VOICE_OUT", roaming_zones=home_eu, destination_zones=D("PREMIUM"),
             price="1.99", increment_first=60, increment_next=60, **minute),
        dict(service="VOICE_OUT", roaming_zones=home_eu, destination_zones=D("FREE"),
             price="0.00", increment_first=1, increment_next=1, **minute),
        dict(service="VOICE_OUT", roaming_zones=R("WORLD1"), price="1.49",
             increment_first=60, increment_next=60, **minute),
        dict(service="VOICE_IN", roaming_zones=home_eu, destination_zones=D("INCOMING"),
             price="0.00", increment_first=1, increment_next=1, **minute),
        dict(service="VOICE_IN", roaming_zones=R("WORLD1"), destination_zones=D("INCOMING"),
             price="0.49", increment_first=60, increment_next=60, **minute),
        dict(service="SMS_OUT", roaming_zones=home_eu, destination_zones=D("NAT_MOBILE",
             "NAT_FIXED", "EU"), price="0.09", unit="MESSAGE"),
        dict(service="SMS_OUT", roaming_zones=home_eu, destination_zones=D("WORLD"),
             price="0.29", unit="MESSAGE"),
        dict(service="SMS_OUT", roaming_zones=R("WORLD1"), price="0.39", unit="MESSAGE"),
        dict(service="SMS_IN", destination_zones=D("INCOMING"), price="0.00", unit="MESSAGE"),
        dict(service="DATA", roaming_zones=home_eu, price="1.99", unit="GB",
             increment_first=1000, increment_next=1000),
        dict(service="DATA", roaming_zones=R("WORLD1"), price="0.0199", unit="MB",
             increment_first=10000, increment_next=10000),
    ]  # fmt: skip
    for row in rows:
        _row(retail, row)
    wholesale = services.rate_card_save(
        code="HOSTNET-2026",
        name="HOSTNET wholesale prices",
        kind="wholesale",
        currency="EUR",
        zone_table=table,
        time_band_set=None,
    )
    wholesale_rows = []
    for service in ("VOICE_OUT", "VOICE_IN"):
        for zone, price in (("HOME", "0.004"), ("EU", "0.022"), ("WORLD1", "0.35")):
            wholesale_rows.append(
                dict(service=service, roaming_zones=R(zone), price=price, unit="MINUTE")
            )
    wholesale_rows += [
        dict(service="SMS_OUT", roaming_zones=home_eu, price="0.001", unit="MESSAGE"),
        dict(service="SMS_OUT", roaming_zones=R("WORLD1"), price="0.05", unit="MESSAGE"),
        dict(service="SMS_IN", roaming_zones=R("HOME", "EU", "WORLD1"), price="0.00",
             unit="MESSAGE"),
        dict(service="DATA", roaming_zones=R("HOME"), price="0.40", unit="GB",
             increment_first=1000, increment_next=1000),
        dict(service="DATA", roaming_zones=R("EU"), price="1.50", unit="GB",
             increment_first=1000, increment_next=1000),
        dict(service="DATA", roaming_zones=R("WORLD1"), price="0.004", unit="MB",
             increment_first=1000, increment_next=1000),
    ]  # fmt: skip
    for row in wholesale_rows:
        _row(wholesale, row)
    network = services.host_network_save(
        code="HOSTNET", name="Host Network GmbH", plmn_codes=["26203"], country_code="49"
    )
    plan = services.plan_save(
        code="SMART-10", name="Smart 10", brand=brand, payment_model="postpaid", currency="EUR"
    )
    version = services.plan_version_create(
        plan=plan,
        data={
            "effective_from": OCTOBER_START,
            "rate_card": retail,
            "recurring_fee": Decimal("19.99"),
            "fee_timing": "in_advance",
            "tax_category": category,
        },
    )
    allowances = [
        {"name": "Data 10 GB", "services": ["DATA"], "quantity": 10, "unit": "GB",
         "roaming_zones": home_eu},
        {"name": "Voice 100 min", "services": ["VOICE_OUT"], "quantity": 100, "unit": "MINUTE",
         "roaming_zones": home_eu, "destination_zones": D("NAT_MOBILE", "NAT_FIXED", "EU")},
        {"name": "SMS 100", "services": ["SMS_OUT"], "quantity": 100, "unit": "MESSAGE",
         "roaming_zones": home_eu, "destination_zones": D("NAT_MOBILE", "NAT_FIXED", "EU")},
    ]  # fmt: skip
    for allowance in allowances:
        services.allowance_save(owner=version, data=allowance)
    if publish:
        retail = services.rate_card_publish(rate_card=retail, acting_user=acting_user)
        wholesale = services.rate_card_publish(rate_card=wholesale, acting_user=acting_user)
        version = services.plan_version_publish(version=version, acting_user=acting_user)
        services.host_network_tariff_set(
            host_network=network,
            rate_card=wholesale,
            effective_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            sim_fee=Decimal("0.30"),  # R31: per SIM active on any day of the month
        )
    golden.retail_card, golden.wholesale_card = retail, wholesale
    golden.host_network, golden.plan, golden.version = network, plan, version
    return golden


def _row(card, row: dict):
    data = dict(row)
    for name in ("price", "connection_fee"):
        if name in data:
            data[name] = Decimal(data[name])
    return services.rate_row_save(rate_card=card, data=data)
