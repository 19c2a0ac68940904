"""Console pages of subscriptions: list, page with its terms timeline, order form, lifecycle."""

from dataclasses import dataclass

from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from core.console.views import ConsoleDetailView, ConsoleListView
from core.periods import local_midnight
from subscribers import services
from subscribers.filters import SubscriptionFilter
from subscribers.forms import (
    AddOnForm,
    BucketAdjustForm,
    ChangePlanForm,
    SubscriptionForm,
    SubscriptionUserForm,
    SwapSimForm,
    TerminateForm,
)
from subscribers.ledger import subscription_ledger
from subscribers.models import (
    Bucket,
    BucketMovement,
    Subscription,
    SubscriptionAddOn,
    SubscriptionStatus,
)
from subscribers.selectors import billing_accounts_visible_to, subscriptions_visible_to
from subscribers.tables import SubscriptionTable
from subscribers.views.base import (
    ReturningActionView,
    ServiceFormView,
    bucket_rows,
    instant_text,
    units_text,
)

BUCKETS_SHOWN = 30
RENEWALS_SHOWN = 12
MOVEMENTS_SHOWN = 20
CHANGE_PERMISSION = "subscribers.change_subscription"

LIVE = frozenset(SubscriptionStatus) - {SubscriptionStatus.TERMINATED}
BUYING = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.BARRED})


@dataclass(frozen=True)
class LifecycleAction:
    """A button of the subscription page: the statuses it is legal from, as the services say."""

    name: str
    label: str
    statuses: frozenset
    style: str = ""

    @property
    def url_name(self) -> str:
        return f"subscribers:subscription-{self.name}"


def _from(action: str) -> frozenset:
    return frozenset(services.TRANSITIONS[action][0])


# In the order of the page. The transitions follow services.TRANSITIONS; a plan change and a SIM
# swap are refused by their services only on a terminated subscription; add-ons are bought for
# active (or outgoing-barred) subscriptions (services.subscription_add_on_add).
LIFECYCLE_ACTIONS = (
    LifecycleAction("activate", "Activate", _from("activate"), "primary"),
    LifecycleAction("suspend", "Suspend", _from("suspend")),
    LifecycleAction("bar", "Bar outgoing", _from("bar")),
    LifecycleAction("reactivate", "Reactivate", _from("reactivate"), "primary"),
    LifecycleAction("change-plan", "Change plan", LIVE),
    LifecycleAction("add-addon", "Add add-on", BUYING),
    LifecycleAction("swap-sim", "Swap SIM", LIVE),
    LifecycleAction("user", "Set user", LIVE),
    LifecycleAction("terminate", "Terminate", _from("terminate"), "danger"),
    LifecycleAction("port-out", "Port out", _from("terminate"), "danger"),
)


def actions_for(user, subscription: Subscription) -> list[dict]:
    """The lifecycle buttons a user may press on a subscription in its current status."""
    if not user.has_perm(CHANGE_PERMISSION):
        return []
    return [
        {
            "label": action.label,
            "url": reverse(action.url_name, args=[subscription.pk]),
            "style": action.style,
        }
        for action in LIFECYCLE_ACTIONS
        if subscription.status in action.statuses
    ]


class SubscriptionListView(ConsoleListView):
    model = Subscription
    table_class = SubscriptionTable
    filterset_class = SubscriptionFilter

    def get_queryset(self):
        return subscriptions_visible_to(self.request.user).select_related(
            "billing_account__customer__brand", "plan", "sim"
        )


class SubscriptionDetailView(ConsoleDetailView):
    """A subscription now, what was in force when (terms), its add-ons and buckets."""

    model = Subscription
    template_name = "subscribers/subscription_detail.html"
    fields = ["msisdn", "status", "plan", "sim", "activated_at", "terminated_at"]

    def get_queryset(self):
        return subscriptions_visible_to(self.request.user).select_related(
            "billing_account__customer__brand", "plan", "sim"
        )

    def get_fields(self):
        subscription = self.object
        sim = subscription.sim
        return [
            ("MSISDN", f"+{subscription.msisdn}"),
            ("Status", subscription.get_status_display()),
            (
                "Plan",
                format_html(
                    '<a href="{}">{}</a> — {}',
                    subscription.plan.get_absolute_url(),
                    subscription.plan.code,
                    subscription.plan.name,
                ),
            ),
            ("Used by", subscription.user_name or "the account holder"),
            ("SIM", f"{sim.iccid} (IMSI {sim.imsi})" if sim else None),
            ("Activated", instant_text(subscription.activated_at)),
            ("Terminated", instant_text(subscription.terminated_at)),
        ]

    def get_actions(self):
        return actions_for(self.request.user, self.object)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        subscription = self.object
        account = subscription.billing_account
        context["account"] = account
        context["customer"] = account.customer
        context["terms"] = subscription.terms.select_related("plan", "sim").order_by("valid_from")
        context["add_ons"] = subscription.add_ons.select_related("add_on").order_by("-valid_from")
        context["can_change"] = self.request.user.has_perm(CHANGE_PERMISSION)
        context["live"] = subscription.status in LIVE
        buckets = (
            Bucket.objects.filter(
                Q(subscription=subscription) | Q(billing_account=account, shared=True)
            )
            .prefetch_related(
                Prefetch(
                    "movements",
                    queryset=BucketMovement.objects.order_by("-id")[:MOVEMENTS_SHOWN],
                    to_attr="recent_movements",
                )
            )
            .order_by("-valid_from", "id")[:BUCKETS_SHOWN]
        )
        context["buckets"] = bucket_rows(buckets)
        context["buckets_shown"] = BUCKETS_SHOWN
        context["movements_shown"] = MOVEMENTS_SHOWN
        context["now"] = timezone.now()
        context["renewals"] = subscription.renewals.select_related(
            "plan_version__plan", "movement"
        ).order_by("-period_start")[:RENEWALS_SHOWN]
        context["prepaid"] = account.payment_model == "prepaid"
        return context


class SubscriptionLedgerView(ConsoleDetailView):
    """A subscription's ledger: balance and bucket movements, each with its cause, linked."""

    model = Subscription
    template_name = "subscribers/subscription_ledger.html"

    def get_queryset(self):
        return subscriptions_visible_to(self.request.user).select_related(
            "billing_account__customer__brand", "plan"
        )

    def get_actions(self):
        actions = [{"label": "Subscription", "url": self.object.get_absolute_url(), "style": ""}]
        user = self.request.user
        if user.has_perm("subscribers.add_bucketmovement") and self.object.status in LIVE:
            actions.append(
                {
                    "label": "Adjust bucket",
                    "url": reverse("subscribers:subscription-adjust-bucket", args=[self.object.pk]),
                    "style": "",
                }
            )
        account = self.object.billing_account
        if user.has_perm("subscribers.add_balancemovement") and account.payment_model != "postpaid":
            actions.append(
                {
                    "label": "Adjust balance",
                    "url": reverse("subscribers:billingaccount-adjust", args=[account.pk]),
                    "style": "",
                }
            )
        return actions

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = f"Ledger · {self.object}"
        context["account"] = self.object.billing_account
        context["balance"] = services.balance_of(self.object.billing_account)
        context.update(subscription_ledger(self.object))
        for row in context["bucket_rows"]:
            row.quantity_text = units_text(row.movement.quantity, row.bucket.unit)
        context["related_panels"] = []
        return context


class SubscriptionCreateView(ServiceFormView):
    """Order a subscription on a billing account: pending until it is activated."""

    model = Subscription
    form_class = SubscriptionForm
    title = "New subscription"
    intro = (
        "The subscription is ordered as pending: it holds its number and SIM from now on and "
        "is rated only once it is activated."
    )
    submit_label = "Order"

    def get_target(self):
        return get_object_or_404(
            billing_accounts_visible_to(self.request.user).select_related("customer"),
            pk=self.kwargs["account_pk"],
        )

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "user": self.request.user,
            "billing_account": self.target,
        }

    def perform(self, form):
        data = form.cleaned_data
        self.created = services.subscription_create(
            billing_account=self.target,
            plan=data["plan"],
            msisdn=data["msisdn"],
            sim=data["sim"],
            user_name=data["user_name"],
            acting_user=self.request.user,
        )
        return f"Ordered {self.created} on {data['plan']}; activate it when the SIM is live."

    def get_success_url(self):
        return self.created.get_absolute_url()


# --- lifecycle ------------------------------------------------------------------------------


class SubscriptionObjectMixin:
    """Subscription actions: scoped look-up (404 outside the user's brands), change permission."""

    model = Subscription
    permission_required = CHANGE_PERMISSION

    def get_queryset(self):
        return subscriptions_visible_to(self.request.user).select_related(
            "billing_account__customer"
        )


class TransitionView(SubscriptionObjectMixin, ReturningActionView):
    """Activate, suspend, bar or reactivate now, after a confirmation."""

    action = ""

    def refusal(self):
        allowed, _ = services.TRANSITIONS[self.action]
        if self.object.status not in allowed:
            return f"cannot {self.action} a subscription that is {self.object.status}"
        return None

    def perform(self, subscription):
        self.object = services.subscription_transition(
            subscription=subscription, action=self.action, acting_user=self.request.user
        )
        return self.object

    def success_message(self):
        return f"{self.verb}: {self.object} is now {self.object.get_status_display()}."


class SubscriptionActivateView(TransitionView):
    action = "activate"
    verb = "Activate"
    explanation = (
        "The subscription becomes active now: its usage is rated and its plan's fees and "
        "allowances run from today."
    )


class SubscriptionSuspendView(TransitionView):
    action = "suspend"
    verb = "Suspend"
    explanation = (
        "Every service stops now: usage from this instant on is not rated (R19) until the "
        "subscription is reactivated. A new term begins in its timeline."
    )
    danger = True


class SubscriptionBarView(TransitionView):
    action = "bar"
    verb = "Bar outgoing"
    explanation = (
        "Outgoing calls, SMS and data stop now; incoming usage is still rated. "
        "A new term begins in its timeline."
    )
    danger = True


class SubscriptionReactivateView(TransitionView):
    action = "reactivate"
    verb = "Reactivate"
    explanation = "The suspension or bar ends now; every service is rated again."


class SubscriptionFormActionView(SubscriptionObjectMixin, ServiceFormView):
    """A lifecycle action that needs input (a plan, a date, a SIM); the form is the
    confirmation. The service has the last word: its refusal comes back onto the form."""

    permission_action = "change"
    statuses = LIVE

    def get_target(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def refusal(self):
        if self.target.status not in self.statuses:
            return f"{self.title}: not possible, the subscription is {self.target.status}"
        return None

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "subscription": self.target}


class SubscriptionChangePlanView(SubscriptionFormActionView):
    form_class = ChangePlanForm
    title = "Change plan"
    intro = (
        "The new plan applies from 00:00 of the change day in the account's timezone (R25). "
        "The bill run credits the old plan and charges the new one by days (R24); the new "
        "plan's allowances are granted for the rest of the period."
    )
    submit_label = "Change plan"

    def perform(self, form):
        data = form.cleaned_data
        services.subscription_change_plan(
            subscription=self.target,
            plan=data["plan"],
            change_date=data["change_date"],
            acting_user=self.request.user,
        )
        return f"{self.target} moves to {data['plan']} on {data['change_date']:%Y-%m-%d}."


class SubscriptionAddAddOnView(SubscriptionFormActionView):
    form_class = AddOnForm
    title = "Add add-on"
    statuses = BUYING
    submit_label = "Buy add-on"

    def perform(self, form):
        add_on = form.cleaned_data["add_on"]
        services.subscription_add_on_add(
            subscription=self.target, add_on=add_on, acting_user=self.request.user
        )
        return f"Add-on {add_on} added to {self.target}."


class SubscriptionSwapSimView(SubscriptionFormActionView):
    form_class = SwapSimForm
    title = "Swap SIM"
    intro = "The subscription moves to the new SIM now; the old SIM is retired for good."
    submit_label = "Swap SIM"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs.pop("subscription")
        return {**kwargs, "user": self.request.user}

    def perform(self, form):
        sim = form.cleaned_data["sim"]
        services.subscription_swap_sim(
            subscription=self.target, sim=sim, acting_user=self.request.user
        )
        return f"{self.target} is now on SIM {sim.iccid}."


class SubscriptionUserView(SubscriptionFormActionView):
    form_class = SubscriptionUserForm
    title = "Set user"
    intro = (
        "Name the person who uses this line when it is not the account holder: a family "
        "member on a family account, an employee on a company account. Searchable and shown "
        "on the subscription."
    )
    submit_label = "Save"

    def perform(self, form):
        self.object = services.subscription_user_set(
            subscription=self.target,
            user_name=form.cleaned_data["user_name"],
            acting_user=self.request.user,
        )
        return f"{self.object} is used by {self.object.user_name or 'the account holder'}."


class SubscriptionTerminateView(SubscriptionFormActionView):
    form_class = TerminateForm
    title = "Terminate"
    statuses = _from("terminate")
    intro = (
        "The subscription ends at 00:00 of the chosen day in the account's timezone: usage "
        "after it is not rated, its SIM is retired and its number is free for another "
        "subscription. This cannot be undone."
    )
    submit_label = "Terminate"
    danger = True
    port_out = False

    def perform(self, form):
        day = form.cleaned_data["effective_date"]
        services.subscription_terminate(
            subscription=self.target,
            effective_at=local_midnight(day, self.target.billing_account.timezone),
            port_out=self.port_out,
            acting_user=self.request.user,
        )
        what = "ported out" if self.port_out else "terminated"
        return f"{self.target} is {what} from {day:%Y-%m-%d}."


class SubscriptionPortOutView(SubscriptionTerminateView):
    title = "Port out"
    intro = (
        "The number leaves for another operator: the subscription ends at 00:00 of the chosen "
        "day in the account's timezone, its SIM is retired, and its timeline records a port "
        "out. This cannot be undone."
    )
    submit_label = "Port out"
    port_out = True


class SubscriptionRemoveAddOnView(ReturningActionView):
    """Stop a bought add-on from renewing; what was paid stays valid until its end."""

    model = SubscriptionAddOn
    permission_required = CHANGE_PERMISSION
    pk_url_kwarg = "addon_pk"
    verb = "Remove add-on"
    explanation = (
        "The add-on no longer renews from the next period; what was paid for stays valid "
        "until its end."
    )
    danger = True

    def get_queryset(self):
        visible = subscriptions_visible_to(self.request.user)
        return SubscriptionAddOn.objects.select_related("subscription", "add_on").filter(
            subscription__in=visible, subscription_id=self.kwargs["pk"]
        )

    def get_return_url(self):
        return self.object.subscription.get_absolute_url()

    def refusal(self):
        if self.object.removed_at is not None:
            return "this add-on was removed already"
        return None

    def perform(self, subscription_add_on):
        return services.subscription_add_on_remove(
            subscription_add_on=subscription_add_on, acting_user=self.request.user
        )

    def success_message(self):
        return f"Add-on {self.object.add_on} removed from +{self.object.subscription.msisdn}."


class SubscriptionAdjustBucketView(SubscriptionFormActionView):
    """Add units to (or take units from) one of a subscription's buckets, with a reason."""

    form_class = BucketAdjustForm
    model = BucketMovement
    permission_action = "add"
    permission_required = "subscribers.add_bucketmovement"
    title = "Adjust bucket"
    intro = (
        "A goodwill grant or a correction: a new movement of the bucket that says why; the "
        "bucket never goes below zero. It shows in the ledger with who made it."
    )
    submit_label = "Adjust"

    def get_success_url(self):
        return reverse("subscribers:subscription-ledger", args=[self.target.pk])

    def perform(self, form):
        data = form.cleaned_data
        services.bucket_adjust(
            bucket=data["bucket"],
            quantity=data["quantity"],
            reason=data["reason"],
            acting_user=self.request.user,
        )
        return f"{data['bucket'].name} adjusted by {data['quantity']}: {data['reason']}."
