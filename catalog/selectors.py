"""Reads of the catalogue that are more than one ORM call."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist

from catalog.models import (
    HostNetwork,
    HostNetworkTariff,
    Plan,
    PlanVersion,
    Status,
    TaxRate,
)
from core.periods import require_aware

IN_FORCE = (Status.PUBLISHED, Status.RETIRED)


def plan_version_at(*, plan: Plan | int, instant: dt.datetime) -> PlanVersion | None:
    """Return the version of a plan in force at an instant, or None before its first version.

    The version in force is the published (or since retired) one with the latest effective
    date at or before the instant; drafts never apply.
    """
    require_aware(instant)
    plan_id = plan.pk if isinstance(plan, Plan) else plan
    return (
        PlanVersion.objects.filter(
            plan_id=plan_id, status__in=IN_FORCE, effective_from__lte=instant
        )
        .select_related("plan", "rate_card")
        .order_by("-effective_from")
        .first()
    )


def plan_versions_in_force(*, plan_ids, start: dt.datetime, end: dt.datetime):
    """Return, per plan, its versions that are in force at some instant of [start, end).

    One query for many plans: the rating engine loads the versions a batch needs at once.
    """
    require_aware(start)
    require_aware(end)
    versions = (
        PlanVersion.objects.filter(plan_id__in=set(plan_ids), status__in=IN_FORCE)
        .select_related("plan", "rate_card")
        .order_by("plan_id", "effective_from")
    )
    result: dict[int, list[PlanVersion]] = {}
    for version in versions:
        result.setdefault(version.plan_id, []).append(version)
    for plan_id, items in result.items():
        kept = [
            version
            for index, version in enumerate(items)
            if version.effective_from < end
            and (index + 1 == len(items) or items[index + 1].effective_from > start)
        ]
        result[plan_id] = kept
    return result


def tax_rate_at(*, region, category, day: dt.date) -> Decimal:
    """Return the tax rate of a category in a region on a day."""
    rate = (
        TaxRate.objects.filter(region=region, category=category, valid_from__lte=day)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ObjectDoesNotExist(f"no tax rate for {category} in {region} on {day}")
    return rate


def host_network_tariff_at(*, host_network: HostNetwork, instant: dt.datetime):
    """Return the wholesale tariff of a host network in force at an instant, or None."""
    require_aware(instant)
    return (
        HostNetworkTariff.objects.filter(host_network=host_network, effective_from__lte=instant)
        .select_related("rate_card")
        .order_by("-effective_from")
        .first()
    )
