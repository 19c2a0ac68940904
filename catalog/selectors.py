"""Reads of the catalogue that are more than one ORM call."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Q, QuerySet

from catalog.models import (
    AddOn,
    Allowance,
    Brand,
    BrandScope,
    FairUsePolicy,
    HostNetwork,
    HostNetworkTariff,
    Plan,
    PlanVersion,
    Promotion,
    RateRow,
    Status,
    TaxRate,
    TimeBandSet,
    ZoneTable,
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


# --- brand scoping --------------------------------------------------------------------------
#
# A user limited to some brands (BrandScope rows; none = every brand; a superuser always sees
# every brand) reads and changes the catalogue of their brands only:
#
# - brands, plans and what hangs from a plan (versions, allowances, fair-use policies) belong to
#   one brand: the plan's;
# - an add-on or a promotion belongs to the brands of its eligible plans; one eligible for no
#   plan, or for plans of several brands, is shared;
# - zone tables, time bands, rate cards, tax regions, categories and rates, host networks and
#   their tariffs serve every brand: shared.
#
# Shared objects are readable by everyone and changeable only by users who see every brand.


def brands_of(user) -> list[int] | None:
    """Return the brand ids a user is limited to, or None when the user sees every brand."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    if user.is_superuser:
        return None
    scoped = list(BrandScope.objects.filter(user=user).values_list("brand_id", flat=True))
    return scoped or None


def brands_visible_to(user) -> QuerySet[Brand]:
    """Return the brands a user may see and choose (brand scoping)."""
    brands = brands_of(user)
    return Brand.objects.all() if brands is None else Brand.objects.filter(pk__in=brands)


def _offers_of_brands(model, brands: list[int]):
    """Add-ons or promotions eligible for a plan of the brands, or for no plan at all."""
    through = model.eligible_plans.through
    owner = f"{model._meta.model_name}_id"
    of_brands = through.objects.filter(plan__brand_id__in=brands).values(owner)
    with_plans = through.objects.values(owner)
    return Q(pk__in=of_brands) | ~Q(pk__in=with_plans)


def catalog_visible_to(queryset: QuerySet, user) -> QuerySet:
    """Narrow a queryset of a catalogue model to what a user may see (brand scoping)."""
    brands = brands_of(user)
    if brands is None:
        return queryset
    model = queryset.model
    if model is Brand:
        return queryset.filter(pk__in=brands)
    if model is BrandScope:
        return queryset.filter(user=user)
    if model is Plan:
        return queryset.filter(brand_id__in=brands)
    if model in (PlanVersion, FairUsePolicy):
        key = "plan__brand_id__in" if model is PlanVersion else "plan_version__plan__brand_id__in"
        return queryset.filter(**{key: brands})
    if model in (AddOn, Promotion):
        return queryset.filter(_offers_of_brands(model, brands))
    if model is Allowance:
        add_ons = AddOn.objects.filter(_offers_of_brands(AddOn, brands)).values("pk")
        return queryset.filter(
            Q(plan_version__plan__brand_id__in=brands) | Q(add_on_id__in=add_ons)
        )
    return queryset


def _brands_of_object(obj) -> set[int] | None:
    """Return the brands a catalogue object belongs to as stored, or None when it is shared."""
    if isinstance(obj, Plan):
        stored = Plan.objects.filter(pk=obj.pk).values_list("brand_id", flat=True).first()
        return {obj.brand_id} | ({stored} if stored else set())
    if isinstance(obj, PlanVersion):
        return {Plan.objects.values_list("brand_id", flat=True).get(pk=obj.plan_id)}
    if isinstance(obj, FairUsePolicy):
        return _brands_of_object(PlanVersion(plan_id=obj.plan_version.plan_id))
    if isinstance(obj, Allowance):
        if obj.plan_version_id:
            return _brands_of_object(PlanVersion(plan_id=obj.plan_version.plan_id))
        return _brands_of_object(AddOn.objects.get(pk=obj.add_on_id))
    if isinstance(obj, (AddOn, Promotion)):
        if obj.pk is None:
            return set()  # new: its eligible plans are checked once they are set
        brands = set(obj.eligible_plans.values_list("brand_id", flat=True))
        return brands or None
    return None


def catalog_may_change(obj, user) -> bool:
    """Tell whether a user may create, change or delete a catalogue object (brand scoping).

    A user limited to some brands changes only objects all of whose brands are theirs; shared
    objects (and brands themselves) only users who see every brand change.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return True  # the command line and the demo loader act for every brand
    brands = brands_of(user)
    if brands is None:
        return True
    owners = _brands_of_object(obj)
    return owners is not None and owners <= set(brands)


def require_catalog_change(obj, user) -> None:
    """Refuse (PermissionDenied) a change a brand-limited user may not make."""
    if not catalog_may_change(obj, user):
        raise PermissionDenied(
            f"you are limited to some brands: {obj._meta.verbose_name} {obj} is not only theirs"
        )


def require_plans_of_user(plans, user) -> None:
    """Refuse offering an add-on or promotion to no plan or to another brand's plans."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    brands = brands_of(user)
    if brands is None:
        return
    plan_brands = {plan.brand_id for plan in plans}
    if not plan_brands or not plan_brands <= set(brands):
        raise PermissionDenied(
            "you are limited to some brands: name eligible plans, all of your brands"
        )


def scope_form_choices(form, user):
    """Narrow every model choice of a form to the catalogue objects the user may see."""
    for field in form.fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is not None:
            field.queryset = catalog_visible_to(queryset, user)
    return form


def require_every_brand(user, what: str) -> None:
    """Refuse (PermissionDenied) a user limited to some brands an action on every brand's data."""
    acts_for_user = user is not None and getattr(user, "is_authenticated", False)
    if acts_for_user and brands_of(user) is not None:
        raise PermissionDenied(f"you are limited to some brands: {what} is every brand's")


def zone_table_frozen(table: ZoneTable) -> bool:
    """Say whether the zones of a table never change: published rate cards price by them (R7a)."""
    return bool(table.pk) and table.rate_cards.exclude(status=Status.DRAFT).exists()


def band_set_frozen(band_set: TimeBandSet) -> bool:
    """Say whether a band set never changes: published rate cards price by its bands (R8)."""
    return bool(band_set.pk) and band_set.rate_cards.exclude(status=Status.DRAFT).exists()


def zones_named(table: ZoneTable) -> set[int]:
    """Return the ids of the zones of a table that rate rows, allowances or policies name."""
    named = set()
    for model in (RateRow, Allowance, FairUsePolicy):
        for field in ("destination_zones", "roaming_zones"):
            through = model._meta.get_field(field).remote_field.through
            named |= set(
                through.objects.filter(zone__table=table).values_list("zone_id", flat=True)
            )
    return named
