"""Console pages of customers (with the customer-360 page) and billing accounts with balances."""

from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django_tables2 import RequestConfig

from catalog.models import PaymentModel
from core.console.views import (
    ConsoleCreateView,
    ConsoleDetailView,
    ConsoleListView,
    ConsoleUpdateView,
)
from subscribers import services
from subscribers.filters import BillingAccountFilter, CustomerFilter
from subscribers.forms import (
    BalanceAdjustForm,
    BillingAccountForm,
    CustomerForm,
    TopUpForm,
    VoucherRedeemForm,
)
from subscribers.models import (
    BalanceMovement,
    BillingAccount,
    BillingAccountStatus,
    Bucket,
    Customer,
    Subscription,
    TopUp,
    TopUpChannel,
)
from subscribers.selectors import (
    billing_accounts_visible_to,
    customers_visible_to,
    top_ups_visible_to,
)
from subscribers.tables import BalanceMovementTable, BillingAccountTable, CustomerTable
from subscribers.views.base import ServiceFormView, bucket_rows, money_text

RECENT_TOP_UPS = 10


def has_balance(account: BillingAccount) -> bool:
    """Prepaid and hybrid accounts hold money; a postpaid account is invoiced instead."""
    return account.payment_model in (PaymentModel.PREPAID, PaymentModel.HYBRID)


def current_buckets(*, subscriptions, accounts):
    """Buckets still in force or not yet begun: personal ones and the accounts' shared pools."""
    return (
        Bucket.objects.filter(
            Q(subscription__in=subscriptions) | Q(billing_account__in=accounts, shared=True),
            valid_to__gt=timezone.now(),
        )
        .select_related("allowance")
        .order_by("valid_from", "id")
    )


# --- customers ------------------------------------------------------------------------------


class CustomerListView(ConsoleListView):
    model = Customer
    table_class = CustomerTable
    filterset_class = CustomerFilter
    create_url = reverse_lazy("subscribers:customer-create")

    def get_queryset(self):
        return customers_visible_to(self.request.user).select_related("brand")


class CustomerDetailView(ConsoleDetailView):
    """The customer-360 page: data, accounts, subscriptions, balances, buckets, top-ups."""

    model = Customer
    template_name = "subscribers/customer_detail.html"
    fields = [
        "number",
        "kind",
        "brand",
        "first_name",
        "last_name",
        "company_name",
        "email",
        "phone",
        "street",
        "postal_code",
        "city",
        "country",
        "tax_id",
        "language",
        "external_id",
    ]

    def get_queryset(self):
        return customers_visible_to(self.request.user).select_related("brand")

    def get_fields(self):
        rows = super().get_fields()
        return [(label, value) for label, value in rows if value not in ("", None)]

    def get_actions(self):
        actions = []
        if self.request.user.has_perm("subscribers.change_customer"):
            url = reverse("subscribers:customer-edit", args=[self.object.pk])
            actions.append({"label": "Edit", "url": url})
        if self.request.user.has_perm("subscribers.add_billingaccount"):
            url = reverse("subscribers:billingaccount-create", args=[self.object.pk])
            actions.append({"label": "New billing account", "url": url, "style": "primary"})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        accounts = list(
            billing_accounts_visible_to(user)
            .filter(customer=self.object)
            .select_related("parent__customer")
            .prefetch_related(
                Prefetch("children", queryset=BillingAccount.objects.order_by("number")),
                Prefetch(
                    "subscriptions",
                    queryset=Subscription.objects.select_related("plan", "sim").order_by(
                        "msisdn", "pk"
                    ),
                ),
            )
            .order_by("number")
        )
        subscriptions = [s for account in accounts for s in account.subscriptions.all()]
        buckets = list(current_buckets(subscriptions=subscriptions, accounts=accounts))
        rows = []
        for account in accounts:
            subscription_rows = [
                {
                    "subscription": subscription,
                    "buckets": bucket_rows(
                        b for b in buckets if b.subscription_id == subscription.pk and not b.shared
                    ),
                }
                for subscription in account.subscriptions.all()
            ]
            rows.append(
                {
                    "account": account,
                    "balance": money_text(services.balance_of(account))
                    if has_balance(account)
                    else None,
                    "subscriptions": subscription_rows,
                    "shared_buckets": bucket_rows(
                        b for b in buckets if b.shared and b.billing_account_id == account.pk
                    ),
                }
            )
        context["accounts"] = rows
        context["top_ups"] = top_ups_visible_to(user).filter(billing_account__customer=self.object)[
            :RECENT_TOP_UPS
        ]
        return context


class CustomerCreateView(ConsoleCreateView):
    model = Customer
    form_class = CustomerForm
    template_name = "subscribers/form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["cancel_url"] = reverse("subscribers:customer-list")
        return context

    def save(self, form):
        return services.customer_save(data=form.cleaned_data, acting_user=self.request.user)


class CustomerUpdateView(ConsoleUpdateView):
    model = Customer
    form_class = CustomerForm
    template_name = "subscribers/form.html"

    def get_queryset(self):
        return customers_visible_to(self.request.user)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def save(self, form):
        stored = Customer.objects.get(pk=self.object.pk)
        return services.customer_save(
            data=form.cleaned_data, customer=stored, acting_user=self.request.user
        )


# --- billing accounts -----------------------------------------------------------------------


class BillingAccountListView(ConsoleListView):
    model = BillingAccount
    table_class = BillingAccountTable
    filterset_class = BillingAccountFilter

    def get_queryset(self):
        return billing_accounts_visible_to(self.request.user).select_related(
            "customer__brand", "parent"
        )


class BillingAccountDetailView(ConsoleDetailView):
    """An account: settings, balance with its ledger, money forms, children, subscriptions."""

    model = BillingAccount
    template_name = "subscribers/billingaccount_detail.html"
    fields = [
        "number",
        "name",
        "status",
        "payment_model",
        "currency",
        "timezone",
        "bill_cycle_day",
        "payment_terms_days",
        "tax_region",
        "credit_limit",
        "dunning_policy",
        "parent",
        "invoice_to_parent",
    ]

    def get_queryset(self):
        return billing_accounts_visible_to(self.request.user).select_related(
            "customer__brand", "parent", "tax_region"
        )

    def get_actions(self):
        user, account = self.request.user, self.object
        actions = []
        if user.has_perm("subscribers.change_billingaccount"):
            url = reverse("subscribers:billingaccount-edit", args=[account.pk])
            actions.append({"label": "Edit", "url": url})
        if (
            user.has_perm("subscribers.add_subscription")
            and account.status == BillingAccountStatus.ACTIVE
        ):
            url = reverse("subscribers:subscription-create", args=[account.pk])
            actions.append({"label": "New subscription", "url": url, "style": "primary"})
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, account = self.request.user, self.object
        context["customer"] = account.customer
        context["children"] = account.children.select_related("customer").order_by("number")
        context["subscriptions"] = account.subscriptions.select_related("plan", "sim").order_by(
            "msisdn", "pk"
        )
        context["shared_buckets"] = bucket_rows(
            current_buckets(subscriptions=[], accounts=[account])
        )
        context["has_balance"] = has_balance(account)
        if has_balance(account):
            context["balance"] = money_text(services.balance_of(account))
            ledger = BalanceMovementTable(
                BalanceMovement.objects.filter(billing_account=account)
                .select_related("created_by")
                .order_by("-id"),
                prefix="ledger-",
            )
            RequestConfig(self.request, paginate={"per_page": 50}).configure(ledger)
            context["ledger"] = ledger
            if user.has_perm("subscribers.add_topup"):
                context["top_up_form"] = TopUpForm()
                context["redeem_form"] = VoucherRedeemForm(prefix="voucher")
            if user.has_perm("subscribers.add_balancemovement"):
                context["adjust_form"] = BalanceAdjustForm(prefix="adjust")
        context["top_ups"] = account.top_ups.select_related("created_by")[:RECENT_TOP_UPS]
        return context


class BillingAccountCreateView(ConsoleCreateView):
    """A new billing account of a customer (the customer is found through brand scoping)."""

    model = BillingAccount
    form_class = BillingAccountForm
    template_name = "subscribers/form.html"

    def dispatch(self, request, *args, **kwargs):
        self.customer = get_object_or_404(
            customers_visible_to(request.user), pk=kwargs["customer_pk"]
        )
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "customer": self.customer}

    def get_initial(self):
        return {"name": self.customer.display_name}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"New billing account of {self.customer}"
        context["cancel_url"] = self.customer.get_absolute_url()
        return context

    def save(self, form):
        return services.billing_account_save(
            customer=self.customer, data=form.cleaned_data, acting_user=self.request.user
        )


class BillingAccountUpdateView(ConsoleUpdateView):
    model = BillingAccount
    form_class = BillingAccountForm
    template_name = "subscribers/form.html"

    def get_queryset(self):
        return billing_accounts_visible_to(self.request.user)

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "user": self.request.user,
            "customer": self.object.customer,
        }

    def save(self, form):
        stored = BillingAccount.objects.select_related("customer").get(pk=self.object.pk)
        return services.billing_account_save(
            customer=stored.customer,
            data=form.cleaned_data,
            billing_account=stored,
            acting_user=self.request.user,
        )


# --- balance forms --------------------------------------------------------------------------


class AccountFormView(ServiceFormView):
    """A money form of a billing account (top-up, adjustment, voucher)."""

    def get_target(self):
        return get_object_or_404(
            billing_accounts_visible_to(self.request.user), pk=self.kwargs["pk"]
        )


class TopUpCreateView(AccountFormView):
    model = TopUp
    form_class = TopUpForm
    title = "Top up"
    intro = (
        "Money paid at a counter or by phone with the operator: it is added to the balance at "
        "once. The reference (receipt or ticket number) is accepted once, so a repeated entry "
        "is refused instead of counted twice."
    )
    submit_label = "Top up"

    def perform(self, form):
        top_up = services.top_up(
            billing_account=self.target,
            amount=form.cleaned_data["amount"],
            channel=TopUpChannel.CONSOLE,
            reference=form.cleaned_data["reference"],
            acting_user=self.request.user,
        )
        balance = money_text(services.balance_of(self.target))
        return f"Topped up {top_up.amount} {top_up.currency}; the balance is {balance}."


class BalanceAdjustView(AccountFormView):
    model = BalanceMovement
    form_class = BalanceAdjustForm
    prefix = "adjust"
    title = "Adjust balance"
    intro = "A goodwill credit or a correction: a new ledger movement that says why."
    submit_label = "Adjust"

    def perform(self, form):
        data = form.cleaned_data
        services.balance_adjust(
            billing_account=self.target,
            amount=data["amount"],
            reason=data["reason"],
            reference=data["reference"],
            acting_user=self.request.user,
        )
        balance = money_text(services.balance_of(self.target))
        return f"Balance adjusted by {data['amount']}; the balance is {balance}."


class VoucherRedeemView(AccountFormView):
    model = TopUp
    form_class = VoucherRedeemForm
    prefix = "voucher"
    title = "Redeem voucher"
    intro = "The voucher's value is added to the balance; a voucher is redeemed only once."
    submit_label = "Redeem"

    def perform(self, form):
        top_up = services.voucher_redeem(
            code=form.cleaned_data["code"],
            billing_account=self.target,
            acting_user=self.request.user,
        )
        return f"Voucher {top_up.reference} redeemed: {top_up.amount} {top_up.currency} added."
