"""REST API of the subscribers under /api/v1/subscribers/, named after the TM Forum Open APIs.

- TMF629 ``customer``; TMF666 ``billingAccount``; TMF637 ``product`` (a subscription) with its
  lifecycle actions (``activate``, ``suspend``, ``bar``, ``reactivate``, ``terminate``,
  ``changePlan``, ``addAddOn``, ``removeAddOn``, ``swapSim``) and its ``terms``;
- the SIM inventory: ``sim`` and ``simBatch`` (a multipart CSV upload);
- TMF654 ``bucket``, ``accumulatedBalance``, ``balanceAction`` (the ledger),
  ``topupBalance``, ``adjustBalance``; vouchers: ``voucherBatch`` and ``voucher/redeem``.

Every read goes through the brand scoping of ``subscribers.selectors``: a user limited to some
brands lists only their customers and gets a 404 for anything else. Every write calls one
``subscribers.services`` function with ``acting_user=request.user``; a rule the service refuses
is a 400 whose ``fieldErrors`` name the JSON fields, never a 500. Money-moving POSTs
(``topupBalance``, ``adjustBalance``, ``voucher/redeem``, ``addAddOn``) honour an
``Idempotency-Key`` (core.idempotency). A voucher batch is deliberately not idempotent: a replay
would have to store its secret codes; its unique ``reference`` makes a retry fail instead.
"""

import contextlib
from decimal import Decimal
from types import SimpleNamespace

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import (
    BigIntegerField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import MoneyInput, money
from core.idempotency import idempotent
from core.periods import local_midnight
from subscribers import services
from subscribers.api import filters
from subscribers.api import serializers as api
from subscribers.models import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    BalanceMovement,
    BillingAccount,
    Bucket,
    BucketMovement,
    Customer,
    Sim,
    SimBatch,
    Subscription,
    SubscriptionAddOn,
    TopUp,
    VoucherBatch,
    VoucherStatus,
)
from subscribers.selectors import (
    billing_accounts_visible_to,
    brands_of,
    customers_visible_to,
    sims_visible_to,
    subscriptions_visible_to,
)

CHANGE_SUBSCRIPTION = "subscribers.change_subscription"
MAX_SIM_FILE_BYTES = 10_000_000

# Service field names whose JSON name is not simply their camelCase.
FIELD_NAMES = {
    "plan": "productOffering",
    "effective_at": "effectiveDate",
    "created_at": "orderDate",
    "change_date": "changeDate",
    "parent": "parentAccount",
    "bill_cycle_day": "billingCycleSpecification.billingDateShift",
    "first_name": "engagedParty.givenName",
    "last_name": "engagedParty.familyName",
    "company_name": "engagedParty.tradingName",
    "tax_id": "engagedParty.taxId",
    "kind": "engagedParty.@type",
    "email": "contactMedium.emailAddress",
    "phone": "contactMedium.phoneNumber",
    "street": "contactMedium.street1",
    "postal_code": "contactMedium.postCode",
    "city": "contactMedium.city",
    "country": "contactMedium.country",
    "subscription_add_on": "productAddOn",
    "host_network": "hostNetwork",
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


@contextlib.contextmanager
def service_errors(names: dict[str, str] | None = None):
    """Re-raise a service's ValidationError as a 400 whose field errors use the JSON names."""
    names = {**FIELD_NAMES, **(names or {})}
    try:
        yield
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            detail = {
                "non_field_errors" if key == NON_FIELD_ERRORS else names.get(key, _camel(key)): (
                    messages
                )
                for key, messages in error.message_dict.items()
            }
        else:
            detail = {"non_field_errors": error.messages}
        raise serializers.ValidationError(detail) from error


def _plan_named_as(request) -> dict[str, str]:
    """Name a service's refusal of the plan after what the client sent: plan or productOffering."""
    sent_plan = isinstance(request.data, dict) and "plan" in request.data
    return {"plan": "plan" if sent_plan else "productOffering"}


def take_money(money: MoneyInput, currency: str, field: str) -> Decimal:
    """Return a written amount's value, refusing a unit other than ``currency``."""
    if money.unit != currency:
        raise serializers.ValidationError(
            {f"{field}.unit": [f"the account is in {currency}, not {money.unit}"]}
        )
    return money.value


def read_input(serializer_class, request, *, partial: bool = False) -> dict:
    """Check the request body's shape; return its data with the services' field names."""
    serializer = serializer_class(data=request.data, partial=partial, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def schema_run(view) -> bool:
    """Whether the view is being inspected by the schema generator (no real user)."""
    return getattr(view, "swagger_fake_view", False)


# --- base -----------------------------------------------------------------------------------


class SubscribersViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and read a resource the user's brands allow; subclasses add writes."""

    # Actions set the permission they need (core.api.permissions.RolePermissions).
    required_permission: str | None = None
    lookup_value_regex = r"[0-9]+"
    filter_backends = [DjangoFilterBackend]
    model = None

    def get_queryset(self):
        if schema_run(self):
            return self.model.objects.none()
        return self.visible(self.request.user)

    def visible(self, user):
        """The objects the user may see (brand scoping through subscribers.selectors)."""
        raise NotImplementedError

    def read_input(self, serializer_class, *, partial: bool = False) -> dict:
        return read_input(serializer_class, self.request, partial=partial)

    def represent(self, obj, status_code: int = status.HTTP_200_OK, serializer_class=None):
        """Answer with the resource as a read would show it."""
        obj = self.get_queryset().get(pk=obj.pk)
        serializer_class = serializer_class or self.serializer_class
        body = serializer_class(obj, context=self.get_serializer_context()).data
        return Response(body, status=status_code)


def _accounts_of(user):
    return billing_accounts_visible_to(user).values("pk")


# --- TMF629 customer ------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(request=api.CustomerInput, responses={201: api.CustomerSerializer}),
    partial_update=extend_schema(request=api.CustomerInput, responses=api.CustomerSerializer),
)
class CustomerViewSet(SubscribersViewSet):
    """Customers (TMF629): persons and businesses with their contact details.

    PATCH writes only the fields it names; ``contactMedium``, when given, replaces every
    contact detail. A customer stays with its brand and its number.
    """

    model = Customer
    serializer_class = api.CustomerSerializer
    filterset_class = filters.CustomerFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def visible(self, user):
        return customers_visible_to(user).select_related("brand").prefetch_related("accounts")

    def create(self, request, *args, **kwargs):
        data = self.read_input(api.CustomerInput)
        with service_errors():
            customer = services.customer_save(data=data, acting_user=request.user)
        return self.represent(customer, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        customer = self.get_object()
        data = self.read_input(api.CustomerInput, partial=True)
        if "brand" in data and data.pop("brand") != customer.brand:
            raise serializers.ValidationError({"brand": ["a customer stays with its brand"]})
        if "number" in data and data.pop("number") != customer.number:
            raise serializers.ValidationError({"number": ["a customer keeps its number"]})
        with service_errors():
            customer = services.customer_save(
                data=data, customer=customer, acting_user=request.user
            )
        return self.represent(customer)


# --- TMF666 billing account -----------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        request=api.BillingAccountInput, responses={201: api.BillingAccountSerializer}
    ),
    partial_update=extend_schema(
        request=api.BillingAccountInput, responses=api.BillingAccountSerializer
    ),
)
class BillingAccountViewSet(SubscribersViewSet):
    """Billing accounts (TMF666): currency, bill cycle, payment terms, B2B hierarchy.

    PATCH writes only the fields it names; an account stays with its customer.
    """

    model = BillingAccount
    serializer_class = api.BillingAccountSerializer
    filterset_class = filters.BillingAccountFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    error_names = {"number": "accountNumber"}

    def visible(self, user):
        return billing_accounts_visible_to(user).select_related(
            "customer__brand", "tax_region", "parent"
        )

    @staticmethod
    def _money(data: dict, currency: str) -> dict:
        if "credit_limit" in data:
            data["credit_limit"] = take_money(data["credit_limit"], currency, "creditLimit")
        return data

    def create(self, request, *args, **kwargs):
        data = self.read_input(api.BillingAccountInput)
        customer = data.pop("customer")
        data = self._money(data, data["currency"])
        with service_errors(self.error_names):
            account = services.billing_account_save(
                customer=customer, data=data, acting_user=request.user
            )
        return self.represent(account, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        account = self.get_object()
        data = self.read_input(api.BillingAccountInput, partial=True)
        if "customer" in data and data.pop("customer") != account.customer:
            raise serializers.ValidationError({"customer": ["an account stays with its customer"]})
        if "number" in data and data.pop("number") != account.number:
            raise serializers.ValidationError({"accountNumber": ["an account keeps its number"]})
        data = self._money(data, data.get("currency", account.currency))
        with service_errors(self.error_names):
            account = services.billing_account_save(
                customer=account.customer,
                data=data,
                billing_account=account,
                acting_user=request.user,
            )
        return self.represent(account)


# --- TMF637 product -------------------------------------------------------------------------


def product_action(input_class, *, url_path: str, description: str):
    """Declare a lifecycle action: POST, operators and admins only, answers the product."""

    def decorate(method):
        method = action(
            detail=True,
            methods=["post"],
            url_path=url_path,
            required_permission=CHANGE_SUBSCRIPTION,
        )(method)
        return extend_schema(
            request=input_class,
            responses={200: api.ProductSerializer},
            description=description,
        )(method)

    return decorate


@extend_schema_view(
    create=extend_schema(
        request=api.ProductInput,
        responses={201: api.ProductSerializer},
        description="Order a product: pending, holding its number (and SIM) from orderDate on.",
    ),
)
class ProductViewSet(SubscribersViewSet):
    """Products (TMF637): subscriptions, with their plan, number, SIM, status and add-ons.

    Lifecycle: pending → active → suspended / barred → active → terminated; an illegal move is
    a 400 that says why. Find a subscription by its number with ``?msisdn=``.
    """

    model = Subscription
    serializer_class = api.ProductSerializer
    filterset_class = filters.ProductFilter
    http_method_names = ["get", "post", "head", "options"]

    def visible(self, user):
        return (
            subscriptions_visible_to(user)
            .select_related("billing_account__customer", "plan", "sim")
            .prefetch_related(
                Prefetch("add_ons", queryset=SubscriptionAddOn.objects.select_related("add_on"))
            )
        )

    def create(self, request, *args, **kwargs):
        data = self.read_input(api.ProductInput)
        with service_errors(_plan_named_as(request)):
            subscription = services.subscription_create(acting_user=request.user, **data)
        return self.represent(subscription, status.HTTP_201_CREATED)

    def _act(self, input_class, call, names: dict[str, str] | None = None):
        subscription = self.get_object()
        data = self.read_input(input_class)
        with service_errors(names):
            call(subscription, data)
        return self.represent(subscription)

    @extend_schema(responses={200: api.ProductTermSerializer(many=True)}, filters=False)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def terms(self, request, pk=None):
        """What the product was in each stretch of time: plan, number, SIM, status (R19)."""
        subscription = self.get_object()
        terms = subscription.terms.select_related("plan", "sim").order_by("valid_from")
        body = api.ProductTermSerializer(terms, many=True, context={"request": request}).data
        return Response(body)

    @product_action(
        api.EffectiveInput, url_path="activate", description="Activate a pending product."
    )
    def activate(self, request, pk=None):
        return self._act(
            api.EffectiveInput,
            lambda subscription, data: services.subscription_activate(
                subscription=subscription, acting_user=request.user, **data
            ),
        )

    @product_action(
        api.ReasonInput, url_path="suspend", description="Suspend every service of a product."
    )
    def suspend(self, request, pk=None):
        return self._act(
            api.ReasonInput,
            lambda subscription, data: services.subscription_suspend(
                subscription=subscription, acting_user=request.user, **data
            ),
        )

    @product_action(
        api.ReasonInput, url_path="bar", description="Bar outgoing services; incoming is rated."
    )
    def bar(self, request, pk=None):
        return self._act(
            api.ReasonInput,
            lambda subscription, data: services.subscription_bar(
                subscription=subscription, acting_user=request.user, **data
            ),
        )

    @product_action(
        api.EffectiveInput, url_path="reactivate", description="Lift a suspension or a bar."
    )
    def reactivate(self, request, pk=None):
        return self._act(
            api.EffectiveInput,
            lambda subscription, data: services.subscription_reactivate(
                subscription=subscription, acting_user=request.user, **data
            ),
        )

    @product_action(
        api.TerminateInput,
        url_path="terminate",
        description="End a product (portOut: its number leaves); its SIM is retired.",
    )
    def terminate(self, request, pk=None):
        return self._act(
            api.TerminateInput,
            lambda subscription, data: services.subscription_terminate(
                subscription=subscription, acting_user=request.user, **data
            ),
        )

    @product_action(
        api.ChangePlanInput,
        url_path="changePlan",
        description="Move to another plan from 00:00 of changeDate in the account's timezone "
        "(R25).",
    )
    def change_plan(self, request, pk=None):
        def change(subscription, data):
            offering = data.pop("offering", None)
            if offering is not None:
                # The offering named must be the plan's version in force from the change on.
                at = local_midnight(data["change_date"], subscription.billing_account.timezone)
                api.offering_in_force(offering=offering, instant=at)
            services.subscription_change_plan(
                subscription=subscription, acting_user=request.user, **data
            )

        names = {"effective_at": "changeDate", **_plan_named_as(request)}
        return self._act(api.ChangePlanInput, change, names=names)

    @product_action(
        api.AddAddOnInput,
        url_path="addAddOn",
        description="Buy an add-on: its allowances are granted, a prepaid balance is charged. "
        "Send an Idempotency-Key to make a retry safe.",
    )
    @idempotent
    def add_add_on(self, request, pk=None):
        return self._act(
            api.AddAddOnInput,
            lambda subscription, data: services.subscription_add_on_add(
                subscription=subscription, acting_user=request.user, **data
            ),
        )

    @product_action(
        api.RemoveAddOnInput,
        url_path="removeAddOn",
        description="Stop a bought add-on from renewing; what was paid stays valid.",
    )
    def remove_add_on(self, request, pk=None):
        def remove(subscription, data):
            if data["subscription_add_on"].subscription_id != subscription.pk:
                raise serializers.ValidationError(
                    {"productAddOn": ["not an add-on of this product"]}
                )
            services.subscription_add_on_remove(acting_user=request.user, **data)

        return self._act(api.RemoveAddOnInput, remove)

    @product_action(
        api.SwapSimInput,
        url_path="swapSim",
        description="Move the product to another SIM; the old one is retired.",
    )
    def swap_sim(self, request, pk=None):
        return self._act(
            api.SwapSimInput,
            lambda subscription, data: services.subscription_swap_sim(
                subscription=subscription, acting_user=request.user, **data
            ),
        )

    @product_action(
        api.ProductUserInput,
        url_path="user",
        description="Name the person who uses the line (userName; empty: the account holder).",
    )
    def user(self, request, pk=None):
        subscription = self.get_object()
        data = self.read_input(api.ProductUserInput)
        with service_errors():
            subscription = services.subscription_user_set(
                subscription=subscription, acting_user=request.user, **data
            )
        return self.represent(self.visible(request.user).get(pk=subscription.pk))


# --- SIM inventory --------------------------------------------------------------------------


class SimViewSet(SubscribersViewSet):
    """SIM cards of every host network (inventory: not limited by brand)."""

    model = Sim
    serializer_class = api.SimSerializer
    filterset_class = filters.SimFilter

    def visible(self, user):
        return sims_visible_to(user).select_related("host_network", "batch")


@extend_schema_view(
    create=extend_schema(
        request={"multipart/form-data": api.SimBatchInput},
        responses={201: api.SimBatchSerializer},
        description="Load SIMs from a CSV file with the header iccid,imsi; all or nothing.",
    ),
)
class SimBatchViewSet(SubscribersViewSet):
    """SIM batches: deliveries of SIM cards loaded from a CSV file (multipart upload)."""

    model = SimBatch
    serializer_class = api.SimBatchSerializer
    filterset_class = filters.SimBatchFilter
    parser_classes = [MultiPartParser, FormParser]

    def visible(self, user):
        return SimBatch.objects.select_related("host_network", "loaded_by")

    def create(self, request, *args, **kwargs):
        data = self.read_input(api.SimBatchInput)
        upload = data["file"]
        if upload.size > MAX_SIM_FILE_BYTES:
            raise serializers.ValidationError(
                {"file": [f"at most {MAX_SIM_FILE_BYTES // 1_000_000} MB per file"]}
            )
        try:
            csv_text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise serializers.ValidationError({"file": ["the file is not UTF-8 text"]}) from error
        if SimBatch.objects.filter(reference=data["reference"]).exists():
            raise serializers.ValidationError(
                {"reference": [f"a SIM batch {data['reference']} was loaded already"]}
            )
        try:
            with service_errors():
                batch = services.sim_batch_load(
                    reference=data["reference"],
                    host_network=data["host_network"],
                    csv_text=csv_text,
                    acting_user=request.user,
                )
        except IntegrityError as error:
            raise serializers.ValidationError(
                {"reference": [f"a SIM batch {data['reference']} was loaded already"]}
            ) from error
        return self.represent(batch, status.HTTP_201_CREATED)


# --- TMF654 prepay balance ------------------------------------------------------------------


def buckets_with_remaining():
    """Buckets annotated with ``remaining``: initial plus the sum of their movements."""
    return Bucket.objects.select_related("subscription", "billing_account").annotate(
        remaining=ExpressionWrapper(
            F("initial") + Coalesce(Sum("movements__quantity"), Value(0)),
            output_field=BigIntegerField(),
        )
    )


class BucketViewSet(SubscribersViewSet):
    """Buckets (TMF654): units granted for a validity window, with what is left of them."""

    model = Bucket
    serializer_class = api.BucketSerializer
    filterset_class = filters.BucketFilter

    def visible(self, user):
        return buckets_with_remaining().filter(billing_account__in=_accounts_of(user))


class AccumulatedBalanceViewSet(SubscribersViewSet):
    """Accumulated balances (TMF654), one per billing account: its money and current buckets.

    The id is the billing account's id. Buckets are those not yet expired.
    """

    model = BillingAccount
    serializer_class = api.AccumulatedBalanceSerializer
    filterset_class = filters.AccumulatedBalanceFilter

    def visible(self, user):
        zero = Value(Decimal("0"), output_field=self.amount_field())
        current = buckets_with_remaining().filter(valid_to__gt=timezone.now())
        return (
            billing_accounts_visible_to(user)
            .annotate(
                balance=Coalesce(
                    Sum("balance_movements__amount"), zero, output_field=self.amount_field()
                )
            )
            .prefetch_related(Prefetch("buckets", queryset=current, to_attr="current_buckets"))
        )

    @staticmethod
    def amount_field():
        return DecimalField(max_digits=AMOUNT_DIGITS, decimal_places=AMOUNT_PLACES)


class BalanceActionViewSet(SubscribersViewSet):
    """Balance actions (TMF654): the ledger of an account's money, whose sum is its balance.

    Each names its cause: the usage event it charged, the session hold, the top-up, the plan
    renewal or the invoice behind it.
    """

    model = BalanceMovement
    serializer_class = api.BalanceActionSerializer
    filterset_class = filters.BalanceActionFilter

    def visible(self, user):
        top_up = TopUp.objects.filter(movement_id=OuterRef("pk")).values("pk")[:1]
        return (
            BalanceMovement.objects.select_related("billing_account", "created_by")
            .filter(billing_account__in=_accounts_of(user))
            .annotate(top_up_id=Subquery(top_up))
        )


class BucketActionViewSet(SubscribersViewSet):
    """Bucket actions (TMF654 balanceAction of a bucket): the movements of allowance units,
    each naming its cause (the usage event a draw rated, a session's hold, an expiry)."""

    model = BucketMovement
    serializer_class = api.BucketActionSerializer
    filterset_class = filters.BucketActionFilter

    def visible(self, user):
        return BucketMovement.objects.select_related("bucket__subscription", "created_by").filter(
            bucket__billing_account__in=_accounts_of(user)
        )


@extend_schema_view(
    create=extend_schema(
        request=api.TopupBalanceInput,
        responses={201: api.TopupBalanceSerializer},
        description="Add money to a prepaid or hybrid balance. One top-up per (channel, "
        "reference); send an Idempotency-Key to make a retry safe.",
    ),
)
class TopupBalanceViewSet(SubscribersViewSet):
    """Top-ups (TMF654 topupBalance): money added through a channel, with its reference."""

    model = TopUp
    serializer_class = api.TopupBalanceSerializer
    filterset_class = filters.TopupBalanceFilter

    def visible(self, user):
        return TopUp.objects.select_related("billing_account", "movement", "created_by").filter(
            billing_account__in=_accounts_of(user)
        )

    @idempotent
    def create(self, request, *args, **kwargs):
        data = self.read_input(api.TopupBalanceInput)
        account = data["billing_account"]
        with service_errors():
            topped = services.top_up(
                billing_account=account,
                amount=take_money(data["amount"], account.currency, "amount"),
                channel=data["channel"],
                reference=data["reference"],
                acting_user=request.user,
            )
        return self.represent(topped, status.HTTP_201_CREATED)


class AdjustBalanceView(APIView):
    """Adjust a balance (TMF654 adjustBalance): money of an account or units of a bucket."""

    required_permission = "subscribers.add_balancemovement"

    @extend_schema(
        request=api.AdjustBalanceInput,
        responses={201: api.AdjustBalanceSerializer},
        description="Correct money (billingAccount + signed amount) or units (bucket + signed "
        "quantity), with a reason. Send an Idempotency-Key to make a retry safe.",
    )
    @idempotent
    def post(self, request):
        data = read_input(api.AdjustBalanceInput, request)
        if "bucket" in data:
            bucket = data["bucket"]
            with service_errors():
                moved = services.bucket_adjust(
                    bucket=bucket,
                    quantity=data["quantity"],
                    reason=data["reason"],
                    acting_user=request.user,
                )
            result = SimpleNamespace(
                pk=moved.pk,
                billing_account=bucket.billing_account,
                bucket=bucket,
                amount=None,
                quantity={"amount": moved.quantity, "units": bucket.unit},
                reason=moved.reason,
                reference=moved.reference,
                balance_action=None,
                created_at=moved.created_at,
            )
        else:
            account = data["billing_account"]
            with service_errors():
                moved = services.balance_adjust(
                    billing_account=account,
                    amount=take_money(data["amount"], account.currency, "amount"),
                    reason=data["reason"],
                    reference=data["reference"],
                    acting_user=request.user,
                )
            result = SimpleNamespace(
                pk=moved.pk,
                billing_account=account,
                bucket=None,
                amount=money(moved.amount, moved.currency),
                quantity=None,
                reason=moved.reason,
                reference=moved.reference,
                balance_action=moved,
                created_at=moved.created_at,
            )
        body = api.AdjustBalanceSerializer(result, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema_view(
    create=extend_schema(
        request=api.VoucherBatchInput,
        responses={201: api.VoucherBatchCreatedSerializer},
        description="Generate a batch of single-use vouchers. The answer holds every serial "
        "and secret code: they are shown this once and never stored in clear. Not idempotent "
        "(a replay would have to keep the codes): a retry with the same reference is a 400.",
    ),
)
class VoucherBatchViewSet(SubscribersViewSet):
    """Voucher batches: single-use top-up vouchers of one value, of one brand."""

    model = VoucherBatch
    serializer_class = api.VoucherBatchSerializer
    filterset_class = filters.VoucherBatchFilter

    def visible(self, user):
        batches = VoucherBatch.objects.select_related("brand", "created_by").annotate(
            redeemed_count=Count("vouchers", filter=Q(vouchers__status=VoucherStatus.REDEEMED))
        )
        brands = brands_of(user)
        return batches if brands is None else batches.filter(brand_id__in=brands)

    def create(self, request, *args, **kwargs):
        data = self.read_input(api.VoucherBatchInput)
        value = data["value"]
        if value.unit not in settings.CURRENCIES:
            raise serializers.ValidationError(
                {"value.unit": [f"one of {', '.join(settings.CURRENCIES)}"]}
            )
        with service_errors():
            batch, codes = services.voucher_batch_create(
                reference=data["reference"],
                brand=data["brand"],
                value=value.value,
                currency=value.unit,
                count=data["count"],
                valid_until=data.get("valid_until"),
                acting_user=request.user,
            )
        batch = self.get_queryset().get(pk=batch.pk)
        batch.codes = [{"serial": serial, "code": code} for serial, code in codes]
        body = api.VoucherBatchCreatedSerializer(batch, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED, headers={"Cache-Control": "no-store"})


class VoucherRedeemView(APIView):
    """Redeem a voucher onto a prepaid or hybrid balance, once."""

    required_permission = "subscribers.add_topup"

    @extend_schema(
        request=api.VoucherRedeemInput,
        responses={
            201: api.TopupBalanceSerializer,
            400: OpenApiResponse(description="unknown, redeemed, expired or foreign voucher"),
        },
        description="A voucher tops up once; a second redemption is a 400. Send an "
        "Idempotency-Key to make a retry safe.",
    )
    @idempotent
    def post(self, request):
        data = read_input(api.VoucherRedeemInput, request)
        with service_errors():
            topped = services.voucher_redeem(
                code=data["code"], billing_account=data["billing_account"], acting_user=request.user
            )
        body = api.TopupBalanceSerializer(topped, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)
