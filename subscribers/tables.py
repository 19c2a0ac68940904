"""Console lists of the subscribers app: one ConsoleTable per model, sortable, exported as CSV."""

import django_tables2 as tables
from django.urls import NoReverseMatch
from django.utils.html import format_html

from core.console.tables import ConsoleTable
from subscribers.models import (
    BalanceMovement,
    BillingAccount,
    Customer,
    Sim,
    Subscription,
    TopUp,
    Voucher,
    VoucherBatch,
)

NUM = {"td": {"class": "num"}, "th": {"class": "num"}}


class BadgeColumn(tables.Column):
    """A status badge on screen, the plain value in the CSV."""

    def render(self, value, record):
        return format_html('<span class="badge {}">{}</span>', record.status, value)

    def value(self, value):
        return value


class LinkIfPageColumn(tables.Column):
    """A link to the related object's page when that page exists (catalogue pages)."""

    def render(self, value):
        try:
            url = value.get_absolute_url()
        except (AttributeError, NoReverseMatch):
            return str(value)
        return format_html('<a href="{}">{}</a>', url, value)

    def value(self, value):
        return str(value)


class MsisdnColumn(tables.Column):
    """An MSISDN shown as +E.164, linked to its subscription."""

    def render(self, value, record):
        return format_html('<a href="{}">+{}</a>', record.get_absolute_url(), value)

    def value(self, value):
        return f"+{value}"


class CustomerTable(ConsoleTable):
    number = tables.Column(linkify=True)
    name = tables.Column(
        accessor="display_name", order_by=("last_name", "first_name", "company_name")
    )
    brand = tables.Column(accessor="brand__code", verbose_name="Brand")
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Created")

    class Meta(ConsoleTable.Meta):
        model = Customer
        fields = ("number", "kind", "email", "phone", "city", "country")
        sequence = ("number", "name", "kind", "brand", "email", "phone", "city", "country")


class BillingAccountTable(ConsoleTable):
    number = tables.Column(linkify=True)
    customer = tables.Column(linkify=True, order_by=("customer__number",))
    brand = tables.Column(accessor="customer__brand__code", verbose_name="Brand")
    status = BadgeColumn()
    parent = tables.Column(linkify=True, order_by=("parent__number",))
    credit_limit = tables.Column(attrs=NUM)

    class Meta(ConsoleTable.Meta):
        model = BillingAccount
        fields = (
            "number",
            "name",
            "customer",
            "payment_model",
            "status",
            "currency",
            "bill_cycle_day",
            "credit_limit",
            "parent",
        )
        sequence = ("number", "name", "customer", "brand", "payment_model", "status", "...")


class SubscriptionTable(ConsoleTable):
    msisdn = MsisdnColumn(verbose_name="MSISDN")
    status = BadgeColumn()
    plan = LinkIfPageColumn(order_by=("plan__code",))
    billing_account = tables.Column(
        linkify=True, verbose_name="Billing account", order_by=("billing_account__number",)
    )
    customer = tables.Column(
        accessor="billing_account__customer",
        linkify=True,
        order_by=("billing_account__customer__number",),
    )
    brand = tables.Column(accessor="billing_account__customer__brand__code", verbose_name="Brand")
    user_name = tables.Column(verbose_name="Used by")
    sim = tables.Column(verbose_name="SIM (ICCID)", order_by=("sim__iccid",))
    activated_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Activated")
    terminated_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Terminated")

    class Meta(ConsoleTable.Meta):
        model = Subscription
        fields = ("msisdn", "status", "plan", "billing_account", "sim")
        sequence = (
            "msisdn",
            "status",
            "plan",
            "billing_account",
            "customer",
            "user_name",
            "brand",
            "sim",
            "activated_at",
            "terminated_at",
        )


class SimTable(ConsoleTable):
    iccid = tables.Column(verbose_name="ICCID")
    imsi = tables.Column(verbose_name="IMSI")
    status = BadgeColumn()
    batch = tables.Column(order_by=("batch__reference",))
    host_network = tables.Column(accessor="host_network__code", verbose_name="Host network")
    msisdn = tables.Column(verbose_name="On number", orderable=False, empty_values=(None, ""))
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Loaded")

    class Meta(ConsoleTable.Meta):
        model = Sim
        fields = ("iccid", "imsi", "status", "batch")
        sequence = ("iccid", "imsi", "status", "msisdn", "batch", "host_network", "created_at")

    def render_msisdn(self, value):
        return f"+{value}"

    def value_msisdn(self, value):
        return f"+{value}"


class VoucherBatchTable(ConsoleTable):
    reference = tables.Column(linkify=("subscribers:voucherbatch-detail", [tables.A("pk")]))
    brand = tables.Column(accessor="brand__code", verbose_name="Brand")
    value = tables.Column(attrs=NUM)
    count = tables.Column(attrs=NUM, verbose_name="Vouchers")
    redeemed = tables.Column(attrs=NUM, verbose_name="Redeemed")
    valid_until = tables.DateTimeColumn(format="Y-m-d H:i")
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="Created")
    created_by = tables.Column(verbose_name="By")

    class Meta(ConsoleTable.Meta):
        model = VoucherBatch
        fields = ("reference", "value", "currency", "count", "valid_until")
        sequence = (
            "reference",
            "brand",
            "value",
            "currency",
            "count",
            "redeemed",
            "valid_until",
            "created_at",
            "created_by",
        )


class VoucherTable(ConsoleTable):
    status = BadgeColumn()
    redeemed_at = tables.DateTimeColumn(format="Y-m-d H:i")
    account = tables.Column(
        accessor="top_up__billing_account",
        linkify=True,
        verbose_name="Redeemed onto",
        order_by=("top_up__billing_account__number",),
    )

    class Meta(ConsoleTable.Meta):
        model = Voucher
        fields = ("serial", "status", "redeemed_at")
        sequence = ("serial", "status", "redeemed_at", "account")


class TopUpTable(ConsoleTable):
    created_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name="When")
    billing_account = tables.Column(
        linkify=True, verbose_name="Billing account", order_by=("billing_account__number",)
    )
    amount = tables.Column(attrs=NUM)
    created_by = tables.Column(verbose_name="By")

    class Meta(ConsoleTable.Meta):
        model = TopUp
        fields = ("created_at", "billing_account", "amount", "currency", "channel", "reference")
        sequence = (
            "created_at",
            "billing_account",
            "amount",
            "currency",
            "channel",
            "reference",
            "created_by",
        )


class BalanceMovementTable(ConsoleTable):
    created_at = tables.DateTimeColumn(format="Y-m-d H:i:s", verbose_name="When")
    amount = tables.Column(attrs=NUM)
    created_by = tables.Column(verbose_name="By")

    class Meta(ConsoleTable.Meta):
        model = BalanceMovement
        fields = ("created_at", "kind", "amount", "currency", "reason", "reference")
        sequence = ("created_at", "kind", "amount", "currency", "reason", "reference", "...")
        per_page = 50
