"""Plans, their versions as productOfferings, allowances, fair use, add-ons, promotions."""

import datetime as dt

from django.db.models import OuterRef, Prefetch, Subquery
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from catalog import services
from catalog.api import filters
from catalog.api import serializers as api
from catalog.api.views.base import (
    ZONES,
    CatalogDeleteMixin,
    CatalogViewSet,
    CatalogWriteMixin,
    parse_instant,
    publish_schema,
    service_errors,
    take_money,
    write_schema,
)
from catalog.models import (
    AddOn,
    Allowance,
    FairUsePolicy,
    Plan,
    PlanVersion,
    Promotion,
    Status,
)
from catalog.selectors import IN_FORCE, plan_version_at
from core.api.fields import MoneyInput

# --- plans and their versions ---------------------------------------------------------------


def plan_versions():
    """Plan versions with what their representations read and ``valid_until``.

    ``valid_until`` is the effective date of the plan's next version in force (published or
    since retired), or None: the version applies until then (catalog.selectors.plan_version_at).
    """
    next_start = (
        PlanVersion.objects.filter(
            plan_id=OuterRef("plan_id"),
            status__in=IN_FORCE,
            effective_from__gt=OuterRef("effective_from"),
        )
        .order_by("effective_from")
        .values("effective_from")[:1]
    )
    return (
        PlanVersion.objects.select_related("plan__brand", "rate_card", "tax_category")
        .prefetch_related(
            Prefetch("allowances", queryset=Allowance.objects.prefetch_related(*ZONES)),
            Prefetch("fair_use_policies", queryset=FairUsePolicy.objects.prefetch_related(*ZONES)),
            Prefetch(
                "plan__add_ons",
                queryset=AddOn.objects.filter(status=Status.PUBLISHED),
                to_attr="published_add_ons",
            ),
        )
        .annotate(valid_until=Subquery(next_start))
    )


@write_schema(
    api.PlanInput,
    api.PlanSerializer,
    version_at=extend_schema(
        parameters=[
            OpenApiParameter(
                "instant",
                OpenApiTypes.DATETIME,
                description="ISO 8601 with a UTC offset (2026-10-15T10:00:00Z); now if left out",
            )
        ],
        responses={
            200: api.ProductOfferingSerializer,
            404: OpenApiResponse(description="the plan has no version in force at the instant"),
        },
    ),
)
class PlanViewSet(CatalogWriteMixin, CatalogViewSet):
    """Plans (the header as marketed) with their versions; prices live in the versions."""

    queryset = Plan.objects.select_related("brand").prefetch_related("versions")
    serializer_class = api.PlanSerializer
    input_serializer_class = api.PlanInput
    filterset_class = filters.PlanFilter

    def current(self, plan):
        return {
            "code": plan.code,
            "name": plan.name,
            "brand": plan.brand,
            "payment_model": plan.payment_model,
            "currency": plan.currency,
            "description": plan.description,
        }

    def save(self, plan, data):
        return services.plan_save(
            code=data["code"],
            name=data["name"],
            brand=data["brand"],
            payment_model=data["payment_model"],
            currency=data["currency"],
            description=data.get("description", ""),
            plan=plan,
            acting_user=self.request.user,
        )

    @action(detail=True, methods=["get"], url_path="versionAt", url_name="version-at")
    def version_at(self, request, pk=None):
        """Return the productOffering (plan version) in force at an instant.

        The version in force is the published or since retired one with the latest effective
        date at or before the instant; drafts never apply. 404 before the first version.
        """
        plan = self.get_object()
        instant = parse_instant(request.query_params.get("instant"))
        version = plan_version_at(plan=plan, instant=instant)
        if version is None:
            raise NotFound(
                f"plan {plan.code} has no version in force at "
                f"{instant.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"
            )
        offering = plan_versions().get(pk=version.pk)
        body = api.ProductOfferingSerializer(offering, context=self.get_serializer_context()).data
        return Response(body)


@write_schema(
    api.PlanVersionInput,
    api.PlanVersionSerializer,
    publish=publish_schema(api.PlanVersionSerializer),
    retire=publish_schema(api.PlanVersionSerializer),
    clone=extend_schema(
        request=api.PlanVersionCloneInput, responses={201: api.PlanVersionSerializer}
    ),
)
class PlanVersionViewSet(CatalogWriteMixin, CatalogViewSet):
    """Plan versions: what a plan costs from a date on, edited while draft.

    POST creates the next draft version of ``plan``; PUT/PATCH change a draft; ``publish``
    freezes it (its rate card must be published and it must take effect after every version
    already published); ``retire`` stops selling it; ``clone`` starts the next draft as a copy
    with its allowances and fair-use policies. Allowances and policies of a draft are written
    through ``allowance`` and ``fairUsePolicy``. The same version, as sold, is the
    ``productOffering`` of the same id.
    """

    serializer_class = api.PlanVersionSerializer
    input_serializer_class = api.PlanVersionInput
    filterset_class = filters.PlanVersionFilter
    filter_backends = [DjangoFilterBackend]
    error_fields = {"tax_inclusive": "taxIncluded"}
    money_fields = {"recurring_fee": "recurringFee", "activation_fee": "activationFee"}

    def get_queryset(self):
        return plan_versions()

    def save(self, version, data):
        plan = data.pop("plan", None) or (version.plan if version is not None else None)
        if plan is None:
            raise serializers.ValidationError({"plan": ["name the plan of the new version"]})
        if version is not None and plan.pk != version.plan_id:
            raise serializers.ValidationError({"plan": ["a version stays on its plan"]})
        take_money(data, plan.currency, self.money_fields, f"plan {plan.code}")
        if version is None:
            return services.plan_version_create(plan=plan, data=data, acting_user=self.request.user)
        return services.plan_version_update(
            version=version, data=data, acting_user=self.request.user
        )

    def update(self, request, *args, **kwargs):
        # A partial update passes only what the request names; the service keeps the rest.
        partial = kwargs.pop("partial", False)
        version = self.get_object()
        data = self.read_input(self.input_serializer_class, partial=partial, instance=version)
        with service_errors(self.error_fields):
            version = self.save(version, data)
        return self.represent(version)

    @action(detail=True, methods=["post"], required_permission="catalog.change_planversion")
    def publish(self, request, pk=None):
        """Publish a draft version: immutable from now on, in force from its effective date."""
        with service_errors(self.error_fields):
            version = services.plan_version_publish(
                version=self.get_object(), acting_user=request.user
            )
        return self.represent(version)

    @action(detail=True, methods=["post"], required_permission="catalog.change_planversion")
    def retire(self, request, pk=None):
        """Stop selling a published version; usage in its time still rates on it."""
        with service_errors(self.error_fields):
            version = services.plan_version_retire(
                version=self.get_object(), acting_user=request.user
            )
        return self.represent(version)

    @action(detail=True, methods=["post"], required_permission="catalog.add_planversion")
    def clone(self, request, pk=None):
        """Start the plan's next draft version as a copy of this one."""
        version = self.get_object()
        data = self.read_input(api.PlanVersionCloneInput)
        with service_errors(self.error_fields):
            clone = services.plan_version_clone(
                version=version,
                effective_from=data.get("effective_from"),
                acting_user=request.user,
            )
        return self.represent(clone, status.HTTP_201_CREATED)


class ProductOfferingViewSet(CatalogViewSet):
    """Product offerings (TMF620): one per plan version, as sold; read only.

    ``validFor`` runs from the version's effective date to the next published version's, or
    stays open. ``productOfferingPrice`` holds the recurring fee (period and timing), the
    activation fee and a reference to the rate card whose rows are the usage prices.
    Add-ons are the ``addOn`` resource (not versioned, so not offerings of their own here);
    ``addOn`` lists the published ones sold with the plan. Write through ``planVersion``.
    """

    serializer_class = api.ProductOfferingSerializer
    filterset_class = filters.PlanVersionFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return plan_versions()


# --- allowances and fair use ----------------------------------------------------------------


@write_schema(api.AllowanceInput, api.AllowanceSerializer)
class AllowanceViewSet(CatalogDeleteMixin, CatalogWriteMixin, CatalogViewSet):
    """Allowances (included units) of plan versions and add-ons, written while draft (R11)."""

    queryset = Allowance.objects.select_related("plan_version__plan", "add_on").prefetch_related(
        *ZONES
    )
    serializer_class = api.AllowanceSerializer
    input_serializer_class = api.AllowanceInput
    filterset_class = filters.AllowanceFilter
    filter_backends = [DjangoFilterBackend]
    error_fields = {"unit": "unitOfMeasure", "plan_version": "planVersion", "add_on": "addOn"}

    def current(self, allowance):
        return {
            "name": allowance.name,
            "services": allowance.services,
            "quantity": allowance.quantity,
            "unit": allowance.unit,
            "destination_zones": list(allowance.destination_zones.all()),
            "roaming_zones": list(allowance.roaming_zones.all()),
            "shared": allowance.shared,
        }

    def save(self, allowance, data):
        named = data.get("plan_version") or data.get("add_on")
        if allowance is None:
            owner = named
        else:
            owner = allowance.plan_version or allowance.add_on
            if named is not None and named != owner:
                raise serializers.ValidationError(
                    {"planVersion": ["an allowance stays with its plan version or add-on"]}
                )
        return services.allowance_save(
            owner=owner, data=data, allowance=allowance, acting_user=self.request.user
        )

    def remove(self, allowance):
        services.allowance_delete(allowance=allowance, acting_user=self.request.user)


@write_schema(api.FairUsePolicyInput, api.FairUsePolicySerializer)
class FairUsePolicyViewSet(CatalogDeleteMixin, CatalogWriteMixin, CatalogViewSet):
    """Fair-use policies of plan versions: a cap, then overage or throttling (R13)."""

    queryset = FairUsePolicy.objects.select_related("plan_version__plan").prefetch_related(*ZONES)
    serializer_class = api.FairUsePolicySerializer
    input_serializer_class = api.FairUsePolicyInput
    filterset_class = filters.FairUsePolicyFilter
    filter_backends = [DjangoFilterBackend]
    error_fields = {"unit": "capUnit", "plan_version": "planVersion"}

    def current(self, policy):
        return {
            "plan_version": policy.plan_version,
            "name": policy.name,
            "services": policy.services,
            "destination_zones": list(policy.destination_zones.all()),
            "roaming_zones": list(policy.roaming_zones.all()),
            "cap_quantity": policy.cap_quantity,
            "cap_unit": policy.cap_unit,
            "action": policy.action,
            "overage_price": policy.overage_price,
            "overage_unit": policy.overage_unit,
        }

    def save(self, policy, data):
        version = data.get("plan_version") or (policy.plan_version if policy else None)
        if version is None:
            raise serializers.ValidationError({"planVersion": ["name the plan version"]})
        if policy is not None and version.pk != policy.plan_version_id:
            raise serializers.ValidationError(
                {"planVersion": ["a policy stays with its plan version"]}
            )
        plan = version.plan
        take_money(data, plan.currency, {"overage_price": "overagePrice"}, f"plan {plan.code}")
        return services.fair_use_policy_save(
            version=version, data=data, policy=policy, acting_user=self.request.user
        )

    def remove(self, policy):
        services.fair_use_policy_delete(policy=policy, acting_user=self.request.user)


# --- add-ons and promotions -----------------------------------------------------------------


@write_schema(
    api.AddOnInput,
    api.AddOnSerializer,
    publish=publish_schema(api.AddOnSerializer),
    retire=publish_schema(api.AddOnSerializer),
    clone=extend_schema(request=api.CloneInput, responses={201: api.AddOnSerializer}),
)
class AddOnViewSet(CatalogWriteMixin, CatalogViewSet):
    """Add-ons (bolt-ons): extra allowances or services, one-off or recurring.

    Add-ons are a resource of their own, not productOfferings: they are not versioned. A draft
    changes; ``publish`` makes it sellable and frozen, ``retire`` stops selling it, ``clone``
    copies it with its allowances into a new draft under another code. Its price's unit is its
    currency.
    """

    queryset = AddOn.objects.select_related("tax_category", "zone_table").prefetch_related(
        "eligible_plans",
        Prefetch("allowances", queryset=Allowance.objects.prefetch_related(*ZONES)),
    )
    serializer_class = api.AddOnSerializer
    input_serializer_class = api.AddOnInput
    filterset_class = filters.AddOnFilter
    error_fields = {"tax_inclusive": "taxIncluded", "currency": "price.unit"}

    def current(self, add_on):
        data = {name: getattr(add_on, name) for name in services.ADDON_FIELDS}
        data["eligible_plans"] = list(add_on.eligible_plans.all())
        return data

    def save(self, add_on, data):
        price = data.get("price")
        if isinstance(price, MoneyInput):
            data["currency"], data["price"] = price.unit, price.value
        return services.add_on_save(data=data, add_on=add_on, acting_user=self.request.user)

    @action(detail=True, methods=["post"], required_permission="catalog.change_addon")
    def publish(self, request, pk=None):
        """Publish a draft add-on: it can be sold and never changes again."""
        with service_errors(self.error_fields):
            add_on = services.add_on_publish(add_on=self.get_object(), acting_user=request.user)
        return self.represent(add_on)

    @action(detail=True, methods=["post"], required_permission="catalog.change_addon")
    def retire(self, request, pk=None):
        """Stop selling the add-on; subscriptions that have it keep it."""
        with service_errors(self.error_fields):
            add_on = services.add_on_retire(add_on=self.get_object(), acting_user=request.user)
        return self.represent(add_on)

    @action(detail=True, methods=["post"], required_permission="catalog.add_addon")
    def clone(self, request, pk=None):
        """Copy the add-on and its allowances into a new draft."""
        add_on = self.get_object()
        data = self.read_input(api.CloneInput)
        with service_errors(self.error_fields):
            clone = services.add_on_clone(
                add_on=add_on, code=data["code"], acting_user=request.user
            )
        return self.represent(clone, status.HTTP_201_CREATED)


@write_schema(
    api.PromotionInput,
    api.PromotionSerializer,
    publish=publish_schema(api.PromotionSerializer),
    retire=publish_schema(api.PromotionSerializer),
)
class PromotionViewSet(CatalogWriteMixin, CatalogViewSet):
    """Promotions: a discount on the recurring fee for N periods, for the plans named (R35)."""

    queryset = Promotion.objects.prefetch_related("eligible_plans")
    serializer_class = api.PromotionSerializer
    input_serializer_class = api.PromotionInput
    filterset_class = filters.PromotionFilter
    error_fields = {
        "available_from": "validFor.startDateTime",
        "available_until": "validFor.endDateTime",
    }

    def current(self, promotion):
        data = {name: getattr(promotion, name) for name in services.PROMOTION_FIELDS}
        data["eligible_plans"] = list(promotion.eligible_plans.all())
        return data

    def save(self, promotion, data):
        return services.promotion_save(
            data=data, promotion=promotion, acting_user=self.request.user
        )

    @action(detail=True, methods=["post"], required_permission="catalog.change_promotion")
    def publish(self, request, pk=None):
        """Publish a draft promotion: it can be granted and never changes again."""
        with service_errors(self.error_fields):
            promotion = services.promotion_publish(
                promotion=self.get_object(), acting_user=request.user
            )
        return self.represent(promotion)

    @action(detail=True, methods=["post"], required_permission="catalog.change_promotion")
    def retire(self, request, pk=None):
        """Stop granting the promotion; subscriptions that have it keep it for its periods."""
        with service_errors(self.error_fields):
            promotion = services.promotion_retire(
                promotion=self.get_object(), acting_user=request.user
            )
        return self.represent(promotion)
