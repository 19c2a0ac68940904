"""REST API of the payments under /api/v1/invoicing/, after TM Forum TMF676 (payment, refund)
and TMF670 (paymentMethod, here the SEPA direct debit mandates).

- ``payment``: GET lists and reads payments with their allocations (``paymentItem``); POST
  records one (a payment gateway's callback): ``{"account": {"id"}, "totalAmount": {"unit",
  "value"}, "paymentDate", "paymentMethod", "correlatorId"?, "description"?, "paymentItem"?:
  [{"item": {"id": <customerBill>}}]}``. Actions (POST): ``allocate``, ``return``.
- ``refund``: POST ``{"payment": {"id"}, "totalAmount", "reason"}`` pays money of a payment back.
- ``paymentMethod``: SEPA mandates (``@type`` bankAccountDebit); POST records one, ``revoke``.
- ``bankStatement``: POST a CAMT.053 or MT940 file (multipart ``file``, ``brand``); the same file
  twice is refused. ``bankStatementLine``: the lines, ``?status=unmatched`` is the queue;
  ``match`` and ``discard`` (POST).
- ``directDebitCollection``: POST ``{"billRun": {"id"}, "collectionDate"?}`` makes the pain.008
  file of a run; ``document`` (GET) downloads it.
- ``agedReceivables`` (GET, ``?asOf=YYYY-MM-DD``): what is owed per currency and account in
  buckets of days past due.

Every POST that moves money honours an ``Idempotency-Key`` (core.idempotency).
"""

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpResponse
from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Brand
from core.api import fields
from core.api.fields import MoneyField, MoneyInputField
from core.idempotency import idempotent
from invoicing.api.serializers import RefField, RefInput, ResourceSerializer, reference
from invoicing.api.views import ReadViewSet
from invoicing.payments import bank, selectors, sepa, services
from invoicing.payments.models import (
    BankStatement,
    BankStatementLine,
    LineStatus,
    Payment,
    PaymentMethod,
    Refund,
    ReturnReason,
    SepaCollection,
    SepaMandate,
)
from invoicing.selectors import bill_runs_visible_to, invoices_visible_to
from subscribers.api.views import read_input, service_errors
from subscribers.selectors import billing_accounts_visible_to, brands_visible_to

FIELD_NAMES = {
    "billing_account": "account",
    "received_on": "paymentDate",
    "external_id": "correlatorId",
    "invoices": "paymentItem",
    "reason_code": "reasonCode",
    "collection_date": "collectionDate",
    "bill_run": "billRun",
    "signed_on": "signatureDate",
    "debtor_name": "owner",
    "reference": "mandateReference",
    "creditor_id": "creditorId",
}
CHANGE_PAYMENT = "invoicing.add_payment"


# --- output -----------------------------------------------------------------------------------


class PaymentItemSerializer(serializers.Serializer):
    item = RefField(source="invoice")
    amount = MoneyField(amount="amount", currency="payment.currency")
    reason = serializers.CharField(read_only=True)
    createdAt = fields.InstantField(source="created_at", read_only=True)


class PaymentSerializer(ResourceSerializer):
    """A payment received (TMF676 payment) with its allocations to bills (paymentItem)."""

    account = RefField(source="billing_account")
    paymentDate = serializers.DateField(source="received_on", read_only=True)
    paymentMethod = serializers.ChoiceField(
        source="method", choices=PaymentMethod.choices, read_only=True
    )
    status = serializers.SerializerMethodField()
    totalAmount = MoneyField(amount="amount", currency="currency")
    unallocatedAmount = serializers.SerializerMethodField()
    correlatorId = serializers.CharField(source="external_id", read_only=True)
    description = serializers.CharField(source="reference", read_only=True)
    payer = serializers.SerializerMethodField()
    paymentItem = PaymentItemSerializer(source="allocations", many=True, read_only=True)
    mandate = RefField()
    directDebitCollection = RefField(source="collection")
    endToEndId = serializers.CharField(source="end_to_end_id", read_only=True)
    returnReason = serializers.SerializerMethodField()
    createdAt = fields.InstantField(source="created_at", read_only=True)

    class Meta:
        model = Payment

    def get_status(self, obj) -> str:
        if _returned(obj) is not None:
            return "returned"
        if obj.refunds.exists():
            return "refunded"
        return "pending" if obj.method == PaymentMethod.DIRECT_DEBIT else "succeeded"

    def get_unallocatedAmount(self, obj) -> dict:
        remaining = getattr(obj, "remaining", None)
        if remaining is None:
            remaining = (
                selectors.payments_with_remaining(Payment.objects.filter(pk=obj.pk)).get().remaining
            )
        return fields.money(remaining, obj.currency)

    def get_payer(self, obj) -> dict:
        return {"name": obj.payer_name, "iban": obj.payer_iban}

    def get_returnReason(self, obj) -> str | None:
        returned = _returned(obj)
        return returned.reason_code if returned is not None else None


def _returned(payment):
    try:
        return payment.returned
    except ObjectDoesNotExist:
        return None


class RefundSerializer(ResourceSerializer):
    """Money paid back from a payment (TMF676 refund)."""

    payment = RefField()
    account = serializers.SerializerMethodField()
    totalAmount = MoneyField(amount="amount", currency="payment.currency")
    refundDate = serializers.DateField(source="refunded_on", read_only=True)
    reason = serializers.CharField(read_only=True)
    correlatorId = serializers.CharField(source="external_id", read_only=True)
    status = fields.ConstantField("succeeded")
    createdAt = fields.InstantField(source="created_at", read_only=True)

    class Meta:
        model = Refund

    def get_account(self, obj) -> dict:
        return reference(obj.payment.billing_account, self.context.get("request"))


class PaymentMethodSerializer(ResourceSerializer):
    """A SEPA direct debit mandate (TMF670 paymentMethod of type bankAccountDebit)."""

    type = fields.ConstantField("bankAccountDebit")
    account = RefField(source="billing_account")
    status = serializers.SerializerMethodField()
    mandateReference = serializers.CharField(source="reference", read_only=True)
    signatureDate = serializers.DateField(source="signed_on", read_only=True)
    sequenceType = serializers.CharField(source="sequence", read_only=True)
    details = serializers.SerializerMethodField()
    revokedOn = serializers.DateField(source="revoked_on", read_only=True)
    revokeReason = serializers.CharField(source="revoke_reason", read_only=True)

    class Meta:
        model = SepaMandate

    def get_status(self, obj) -> str:
        return "active" if obj.is_active else "revoked"

    def get_details(self, obj) -> dict:
        return {"owner": obj.debtor_name, "iban": obj.iban, "bic": obj.bic}


class BankStatementSerializer(ResourceSerializer):
    """An imported bank statement file with its match counts."""

    brand = serializers.SerializerMethodField()
    format = serializers.CharField(read_only=True)
    fileName = serializers.CharField(source="file_name", read_only=True)
    statementId = serializers.CharField(source="statement_id", read_only=True)
    accountIban = serializers.CharField(source="account_iban", read_only=True)
    linesTotal = serializers.IntegerField(source="lines_total", read_only=True)
    linesMatched = serializers.IntegerField(source="lines_matched", read_only=True)
    importedAt = fields.InstantField(source="imported_at", read_only=True)
    lines = serializers.SerializerMethodField()

    class Meta:
        model = BankStatement

    def get_brand(self, obj) -> dict:
        from subscribers.api.serializers import reference as subscribers_reference

        return subscribers_reference(obj.brand, self.context.get("request"))

    def get_lines(self, obj) -> str:
        from rest_framework.reverse import reverse

        url = reverse("api:invoicing-bankstatementline-list", request=self.context.get("request"))
        return f"{url}?statement={obj.pk}"


class BankStatementLineSerializer(ResourceSerializer):
    """One entry of a statement: matched, a return, discarded, or waiting for finance."""

    statement = RefField()
    position = serializers.IntegerField(read_only=True)
    bookingDate = serializers.DateField(source="booking_date", read_only=True)
    valueDate = serializers.DateField(source="value_date", read_only=True)
    amount = MoneyField(amount="amount", currency="currency")
    counterparty = serializers.SerializerMethodField()
    remittanceInformation = serializers.CharField(source="remittance", read_only=True)
    endToEndId = serializers.CharField(source="end_to_end_id", read_only=True)
    status = serializers.ChoiceField(choices=LineStatus.choices, read_only=True)
    matchNote = serializers.CharField(source="match_note", read_only=True)
    discardReason = serializers.CharField(source="discard_reason", read_only=True)

    class Meta:
        model = BankStatementLine

    def get_counterparty(self, obj) -> dict:
        return {"name": obj.counterparty_name, "iban": obj.counterparty_iban}


class CollectionSerializer(ResourceSerializer):
    """A pain.008 SEPA direct debit file of a bill run."""

    billRun = RefField(source="bill_run")
    messageId = serializers.CharField(source="message_id", read_only=True)
    collectionDate = serializers.DateField(source="collection_date", read_only=True)
    numberOfTransactions = serializers.IntegerField(source="payments_count", read_only=True)
    totalAmount = MoneyField(amount="total", currency="currency")
    document = serializers.SerializerMethodField()
    createdAt = fields.InstantField(source="created_at", read_only=True)

    class Meta:
        model = SepaCollection

    def get_document(self, obj) -> dict:
        from rest_framework.reverse import reverse

        url = reverse(
            "api:invoicing-directdebitcollection-document", kwargs={"pk": obj.pk},
            request=self.context.get("request"),
        )  # fmt: skip
        return {"@type": "Attachment", "mimeType": "application/xml", "url": url}


# --- input ------------------------------------------------------------------------------------


class BillItemInput(serializers.Serializer):
    item = RefInput(queryset=invoices_visible_to)


class PaymentInput(serializers.Serializer):
    account = RefInput(queryset=billing_accounts_visible_to)
    totalAmount = MoneyInputField(max_digits=20, decimal_places=2)
    paymentDate = serializers.DateField()
    paymentMethod = serializers.ChoiceField(choices=PaymentMethod.choices)
    correlatorId = serializers.CharField(max_length=100, required=False, allow_blank=True)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    payerName = serializers.CharField(max_length=200, required=False, allow_blank=True)
    paymentItem = BillItemInput(many=True, required=False)


class AllocateInput(serializers.Serializer):
    paymentItem = BillItemInput(many=True, required=False)


class ReturnInput(serializers.Serializer):
    reasonCode = serializers.ChoiceField(choices=ReturnReason.choices)
    returnDate = serializers.DateField(required=False)


class RefundInput(serializers.Serializer):
    payment = RefInput(queryset=selectors.payments_visible_to)
    totalAmount = MoneyInputField(max_digits=20, decimal_places=2)
    reason = serializers.CharField(max_length=300)
    correlatorId = serializers.CharField(max_length=100, required=False, allow_blank=True)


class MandateInput(serializers.Serializer):
    account = RefInput(queryset=billing_accounts_visible_to)
    mandateReference = serializers.CharField(max_length=35)
    owner = serializers.CharField(max_length=70)
    iban = serializers.CharField(max_length=42)
    bic = serializers.CharField(max_length=11, required=False, allow_blank=True)
    signatureDate = serializers.DateField()


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class StatementInput(serializers.Serializer):
    brand = serializers.PrimaryKeyRelatedField(queryset=Brand.objects.none())
    file = serializers.FileField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["brand"].queryset = brands_visible_to(request.user)


class MatchInput(serializers.Serializer):
    account = RefInput(queryset=billing_accounts_visible_to)
    paymentItem = BillItemInput(many=True, required=False)


class CollectionInput(serializers.Serializer):
    billRun = RefInput(queryset=bill_runs_visible_to)
    collectionDate = serializers.DateField(required=False)


def _money(value, unit_expected: str, field: str):
    if value.unit != unit_expected:
        raise serializers.ValidationError(
            {f"{field}.unit": [f"the account is in {unit_expected}, not {value.unit}"]}
        )
    return value.value


def _items(data) -> list[int] | None:
    items = data.get("paymentItem")
    return [entry["item"].pk for entry in items] if items else None


# --- views ------------------------------------------------------------------------------------


class PaymentFilter(filters.FilterSet):
    account = filters.NumberFilter(field_name="billing_account_id")
    paymentMethod = filters.ChoiceFilter(field_name="method", choices=PaymentMethod.choices)
    correlatorId = filters.CharFilter(field_name="external_id")
    paymentDateFrom = filters.DateFilter(field_name="received_on", lookup_expr="gte")
    paymentDateTo = filters.DateFilter(field_name="received_on", lookup_expr="lte")

    class Meta:
        model = Payment
        fields = ["account", "paymentMethod", "correlatorId", "paymentDateFrom", "paymentDateTo"]


class PaymentViewSet(ReadViewSet):
    """Payments received (TMF676 payment)."""

    model = Payment
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    def get_permissions(self):
        if self.action not in ("list", "retrieve"):
            self.required_permission = CHANGE_PAYMENT
        return super().get_permissions()

    def visible(self, user):
        return (
            selectors.payments_with_remaining(selectors.payments_visible_to(user))
            .select_related("mandate", "collection", "returned")
            .prefetch_related("allocations__invoice", "allocations__payment")
            .order_by("-pk")
        )

    @extend_schema(
        request=PaymentInput,
        responses={201: PaymentSerializer},
        description="Record a payment and allocate it: to the bills named in "
        "paymentItem, else oldest first; the rest stays as credit on the account.",
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(PaymentInput, request)
        account = data["account"]
        with service_errors(FIELD_NAMES):
            payment = services.payment_record(
                billing_account=account,
                amount=_money(data["totalAmount"], account.currency, "totalAmount"),
                currency=data["totalAmount"].unit, method=data["paymentMethod"],
                received_on=data["paymentDate"], external_id=data.get("correlatorId", ""),
                reference=data.get("description", ""), payer_name=data.get("payerName", ""),
                invoice_ids=_items(data), acting_user=request.user,
            )  # fmt: skip
        return self.represent(payment, status.HTTP_201_CREATED)

    @extend_schema(request=AllocateInput, responses={200: PaymentSerializer},
                   description="Allocate what the payment still holds (the bills named, else "
                   "oldest first).")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def allocate(self, request, pk=None):
        payment = self.get_object()
        data = read_input(AllocateInput, request)
        with service_errors(FIELD_NAMES):
            services.payment_allocate(
                payment=payment, invoice_ids=_items(data), acting_user=request.user
            )
        return self.represent(payment)

    @extend_schema(request=ReturnInput, responses={200: PaymentSerializer},
                   description="Record that the payment came back (a SEPA R-transaction) with "
                   "its ISO reason code: the bills it paid reopen.")  # fmt: skip
    @action(detail=True, methods=["post"], url_path="return")
    @idempotent
    def return_(self, request, pk=None):
        payment = self.get_object()
        data = read_input(ReturnInput, request)
        with service_errors(FIELD_NAMES):
            services.payment_return(
                payment=payment, reason_code=data["reasonCode"],
                returned_on=data.get("returnDate"), acting_user=request.user,
            )  # fmt: skip
        return self.represent(payment)


class RefundViewSet(ReadViewSet):
    """Money paid back (TMF676 refund)."""

    model = Refund
    serializer_class = RefundSerializer

    def get_permissions(self):
        if self.action == "create":
            self.required_permission = "invoicing.add_refund"
        return super().get_permissions()

    def visible(self, user):
        return selectors.refunds_visible_to(user).order_by("-pk")

    @extend_schema(request=RefundInput, responses={201: RefundSerializer},
                   description="Pay back money of a payment: its unallocated part first, then "
                   "taken back from the bills it paid (they reopen).")  # fmt: skip
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(RefundInput, request)
        payment = data["payment"]
        with service_errors(FIELD_NAMES):
            refund = services.refund_create(
                payment=payment, amount=_money(data["totalAmount"], payment.currency,
                                               "totalAmount"),
                reason=data["reason"], external_id=data.get("correlatorId", ""),
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(refund, status.HTTP_201_CREATED)


class PaymentMethodViewSet(ReadViewSet):
    """SEPA direct debit mandates (TMF670 paymentMethod, bankAccountDebit)."""

    model = SepaMandate
    serializer_class = PaymentMethodSerializer

    def get_permissions(self):
        if self.action not in ("list", "retrieve"):
            self.required_permission = "invoicing.add_sepamandate"
        return super().get_permissions()

    def visible(self, user):
        return selectors.mandates_visible_to(user).order_by("-pk")

    @extend_schema(request=MandateInput, responses={201: PaymentMethodSerializer})
    def create(self, request, *args, **kwargs):
        data = read_input(MandateInput, request)
        with service_errors(FIELD_NAMES):
            mandate = sepa.sepa_mandate_create(
                billing_account=data["account"], reference=data["mandateReference"],
                debtor_name=data["owner"], iban=data["iban"], bic=data.get("bic", ""),
                signed_on=data["signatureDate"], acting_user=request.user,
            )  # fmt: skip
        return self.represent(mandate, status.HTTP_201_CREATED)

    @extend_schema(request=ReasonInput, responses={200: PaymentMethodSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        mandate = self.get_object()
        data = read_input(ReasonInput, request)
        with service_errors(FIELD_NAMES):
            mandate = sepa.sepa_mandate_revoke(
                mandate=mandate, reason=data["reason"], acting_user=request.user
            )
        return self.represent(mandate)


class BankStatementViewSet(ReadViewSet):
    """Imported bank statements (CAMT.053, MT940)."""

    model = BankStatement
    serializer_class = BankStatementSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_permissions(self):
        if self.action == "create":
            self.required_permission = "invoicing.add_bankstatement"
        return super().get_permissions()

    def visible(self, user):
        return selectors.bank_statements_visible_to(user).order_by("-pk")

    @extend_schema(
        request={"multipart/form-data": StatementInput},
        responses={201: BankStatementSerializer},
        description="Import a CAMT.053 or MT940 statement: credits are matched and recorded as "
        "payments, returns reverse their direct debits, the rest waits for finance. The same "
        "file twice is refused.",
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(StatementInput, request)
        upload = data["file"]
        with service_errors(FIELD_NAMES):
            statement = bank.bank_statement_import(
                brand=data["brand"], name=upload.name, content=upload.read(),
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(statement, status.HTTP_201_CREATED)


class StatementLineFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=LineStatus.choices)
    statement = filters.NumberFilter(field_name="statement_id")

    class Meta:
        model = BankStatementLine
        fields = ["status", "statement"]


class BankStatementLineViewSet(ReadViewSet):
    """Statement lines; ``?status=unmatched`` is finance's queue."""

    model = BankStatementLine
    serializer_class = BankStatementLineSerializer
    filterset_class = StatementLineFilter

    def get_permissions(self):
        if self.action not in ("list", "retrieve"):
            self.required_permission = "invoicing.change_bankstatementline"
        return super().get_permissions()

    def visible(self, user):
        return selectors.statement_lines_visible_to(user).order_by("statement_id", "position")

    @extend_schema(request=MatchInput, responses={200: BankStatementLineSerializer},
                   description="Record a waiting credit as a payment of the account.")  # fmt: skip
    @action(detail=True, methods=["post"])
    @idempotent
    def match(self, request, pk=None):
        line = self.get_object()
        data = read_input(MatchInput, request)
        with service_errors(FIELD_NAMES):
            bank.statement_line_match(
                line=line, billing_account=data["account"], invoice_ids=_items(data),
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(line)

    @extend_schema(request=ReasonInput, responses={200: BankStatementLineSerializer})
    @action(detail=True, methods=["post"])
    def discard(self, request, pk=None):
        line = self.get_object()
        data = read_input(ReasonInput, request)
        with service_errors(FIELD_NAMES):
            bank.statement_line_discard(line=line, reason=data["reason"], acting_user=request.user)
        return self.represent(line)


class DirectDebitCollectionViewSet(ReadViewSet):
    """SEPA direct debit files (pain.008) of bill runs."""

    model = SepaCollection
    serializer_class = CollectionSerializer

    def get_permissions(self):
        if self.action == "create":
            self.required_permission = "invoicing.add_sepacollection"
        return super().get_permissions()

    def visible(self, user):
        return selectors.collections_visible_to(user).order_by("-pk")

    @extend_schema(request=CollectionInput, responses={201: CollectionSerializer},
                   description="Make the pain.008 file of a run's issued invoices of accounts "
                   "with an active mandate; asking again returns the same file.")  # fmt: skip
    @idempotent
    def create(self, request, *args, **kwargs):
        data = read_input(CollectionInput, request)
        with service_errors(FIELD_NAMES):
            collection = sepa.sepa_collection_create(
                bill_run=data["billRun"], collection_date=data.get("collectionDate"),
                acting_user=request.user,
            )  # fmt: skip
        return self.represent(collection, status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.BINARY},
                   description="The pain.008.001.08 XML file (an attachment).")  # fmt: skip
    @action(detail=True, methods=["get"])
    def document(self, request, pk=None):
        collection = self.get_object()
        return collection_file_response(collection)


def collection_file_response(collection: SepaCollection) -> HttpResponse:
    """The pain.008 file of a collection as a download."""
    response = HttpResponse(collection.xml.encode("utf-8"), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{collection.message_id}.xml"'
    return response


class AgedReceivablesApi(APIView):
    """What is owed on a day, per currency and account, in buckets of days past due."""

    required_permission = "invoicing.view_invoice"

    @extend_schema(
        parameters=[OpenApiParameter("asOf", OpenApiTypes.DATE, description="default: today")],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        as_of = timezone.localdate()
        if request.query_params.get("asOf"):
            try:
                as_of = dt.date.fromisoformat(request.query_params["asOf"])
            except ValueError as error:
                raise serializers.ValidationError({"asOf": ["a date, YYYY-MM-DD"]}) from error
        rows, totals = selectors.aged_receivables(user=request.user, as_of=as_of)

        def body(row):
            return {
                "currency": row.currency,
                "invoices": row.invoices,
                **{name: fields.format_amount(value) for name, value in row.buckets.items()},
                "total": fields.format_amount(row.total),
            }

        return Response({
            "asOf": as_of.isoformat(),
            "buckets": [{"name": n, "label": label} for n, label, *_ in selectors.BUCKETS],
            "totals": [body(row) for row in totals],
            "accounts": [
                {"account": {"id": str(row.billing_account_id), "number": row.account_number,
                             "name": row.account_name}, **body(row)}
                for row in rows
            ],
        })  # fmt: skip
