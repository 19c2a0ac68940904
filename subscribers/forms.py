"""Console forms of the subscribers app: they validate input; the services decide and save.

Every choice a form offers (a brand, a parent account, a plan, a SIM) is limited to what the
user may see (brand scoping) and to what the service would accept.
"""

import datetime as dt
from decimal import Decimal

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from catalog.models import AddOn, HostNetwork, Plan, Status, TaxRegion
from core.periods import billing_period_containing, local_date
from subscribers.models import BillingAccount, Bucket, Customer, SimBatch, SimStatus
from subscribers.selectors import billing_accounts_visible_to, brands_visible_to, sims_visible_to
from subscribers.services import ACCOUNT_FIELDS, CUSTOMER_FIELDS

MAX_SIM_FILE_BYTES = 20 * 1024 * 1024
SIM_SUGGESTIONS = 200


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def currency_field(**kwargs) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=[(code, code) for code in settings.CURRENCIES],
        initial=settings.DEFAULT_CURRENCY,
        **kwargs,
    )


class DatalistInput(forms.TextInput):
    """A text input that suggests values from a list (a browser datalist)."""

    def __init__(self, attrs=None, options=()):
        super().__init__(attrs)
        self.options = list(options)

    def render(self, name, value, attrs=None, renderer=None):
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id', name)}-options"
        attrs["list"] = list_id
        html = super().render(name, value, attrs, renderer)
        options = format_html_join(
            "", '<option value="{}">', ((option,) for option in self.options)
        )
        return html + format_html('<datalist id="{}">{}</datalist>', list_id, options)


class AvailableSimField(forms.CharField):
    """An ICCID typed or picked from suggestions; cleans to an available SIM the user may see."""

    def __init__(self, *, user=None, **kwargs):
        kwargs.setdefault("label", "SIM (ICCID)")
        kwargs.setdefault("max_length", 22)
        super().__init__(**kwargs)
        self.sims = sims_visible_to(user).filter(status=SimStatus.AVAILABLE) if user else None
        if self.sims is not None:
            suggestions = self.sims.order_by("iccid").values_list("iccid", flat=True)
            self.widget = DatalistInput(options=suggestions[:SIM_SUGGESTIONS])

    def clean(self, value):
        iccid = super().clean(value)
        if not iccid:
            return None
        sim = self.sims.filter(iccid=iccid.strip()).first() if self.sims is not None else None
        if sim is None:
            raise forms.ValidationError(f"no available SIM with ICCID {iccid}")
        return sim


# --- customers and accounts -----------------------------------------------------------------


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = list(CUSTOMER_FIELDS)
        help_texts = {"tax_id": "VAT number of a business, checked with its country's rules"}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands_visible_to(user)


class BillingAccountForm(forms.ModelForm):
    currency = currency_field()

    class Meta:
        model = BillingAccount
        fields = list(ACCOUNT_FIELDS)

    def __init__(self, *args, user, customer: Customer, **kwargs):
        super().__init__(*args, **kwargs)
        parents = billing_accounts_visible_to(user).filter(customer__brand_id=customer.brand_id)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents.order_by("number")
        self.fields["tax_region"].queryset = TaxRegion.objects.order_by("code")
        self.fields[
            "timezone"
        ].help_text = (
            "IANA name (Europe/Berlin): decides billing periods, time bands and proration days"
        )


class SubscriptionForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none())
    msisdn = forms.CharField(
        label="MSISDN", max_length=20, help_text="in international form: +49 151 1234 0001"
    )
    user_name = forms.CharField(
        label="Used by",
        max_length=200,
        required=False,
        help_text="the person using the line, when not the account holder",
    )

    def __init__(self, *args, user, billing_account: BillingAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(
            brand_id=billing_account.customer.brand_id,
            currency=billing_account.currency,
            payment_model=billing_account.payment_model,
        ).order_by("code")
        self.fields["sim"] = AvailableSimField(
            user=user,
            required=False,
            help_text="an available SIM; leave empty to give one later with a SIM swap",
        )


# --- SIMs and vouchers ----------------------------------------------------------------------


class SimBatchUploadForm(forms.Form):
    reference = forms.CharField(max_length=64, help_text="the delivery's reference, unique")
    host_network = forms.ModelChoiceField(queryset=HostNetwork.objects.order_by("code"))
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 text, first line the header iccid,imsi, then one SIM per line",
    )

    def clean_reference(self):
        reference = self.cleaned_data["reference"].strip()
        if SimBatch.objects.filter(reference=reference).exists():
            raise forms.ValidationError(f"a SIM batch {reference} was loaded already")
        return reference

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_SIM_FILE_BYTES:
            raise forms.ValidationError("the file is larger than 20 MB: split the delivery")
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError as error:
            raise forms.ValidationError("the file is not UTF-8 text") from error


class VoucherBatchForm(forms.Form):
    reference = forms.CharField(max_length=40, help_text="unique; serials are REFERENCE-000001…")
    brand = forms.ModelChoiceField(queryset=None)
    value = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    currency = currency_field()
    count = forms.IntegerField(min_value=1, max_value=100_000, label="Number of vouchers")
    valid_until = forms.DateTimeField(
        required=False, widget=datetime_input(), help_text="empty: the vouchers do not expire"
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands_visible_to(user)


# --- balances -------------------------------------------------------------------------------


class TopUpForm(forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reference = forms.CharField(
        max_length=100, help_text="the receipt or ticket number; one top-up per reference"
    )


class BalanceAdjustForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, help_text="signed: positive adds, negative takes away"
    )
    reason = forms.CharField(max_length=200, help_text="why: goodwill, correction of …")
    reference = forms.CharField(max_length=100, required=False)


class BucketAdjustForm(forms.Form):
    """Units added to or taken from one of a subscription's buckets, with why (audited)."""

    bucket = forms.ModelChoiceField(queryset=Bucket.objects.none())
    quantity = forms.IntegerField(
        help_text="signed, in the bucket's base unit (seconds, bytes, messages): "
        "positive adds, negative takes away"
    )
    reason = forms.CharField(max_length=200, help_text="why: goodwill, correction of …")

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        from django.db.models import Q
        from django.utils import timezone

        self.fields["bucket"].queryset = Bucket.objects.filter(
            Q(subscription=subscription)
            | Q(shared=True, billing_account_id=subscription.billing_account_id),
            valid_to__gt=timezone.now(),
        ).order_by("valid_to", "pk")

    def clean_quantity(self):
        quantity = self.cleaned_data["quantity"]
        if quantity == 0:
            raise forms.ValidationError("an adjustment is not zero")
        return quantity

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("an adjustment says why")
        return reason


class VoucherRedeemForm(forms.Form):
    code = forms.CharField(max_length=40, label="Voucher code", help_text="the 16 secret digits")


# --- subscription actions -------------------------------------------------------------------


def next_period_start(billing_account: BillingAccount) -> dt.date:
    """The first day of the account's next billing period, in its timezone."""
    period = billing_period_containing(
        timezone.now(), tz=billing_account.timezone, cycle_day=billing_account.bill_cycle_day
    )
    return local_date(period.end, billing_account.timezone)


def tomorrow(billing_account: BillingAccount) -> dt.date:
    """Tomorrow in the account's timezone."""
    return local_date(timezone.now(), billing_account.timezone) + dt.timedelta(days=1)


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), label="New plan")
    change_date = forms.DateField(
        widget=date_input(),
        help_text="the new plan applies from 00:00 of this day in the account's timezone (R25)",
    )

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        account = subscription.billing_account
        self.fields["plan"].queryset = (
            Plan.objects.filter(
                brand_id=account.customer.brand_id,
                currency=account.currency,
                payment_model=account.payment_model,
            )
            .exclude(pk=subscription.plan_id)
            .order_by("code")
        )
        self.fields["change_date"].initial = next_period_start(account)


class AddOnForm(forms.Form):
    add_on = forms.ModelChoiceField(queryset=AddOn.objects.none(), label="Add-on")

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["add_on"].queryset = (
            AddOn.objects.filter(
                status=Status.PUBLISHED, currency=subscription.billing_account.currency
            )
            .filter(Q(eligible_plans__isnull=True) | Q(eligible_plans=subscription.plan_id))
            .distinct()
            .order_by("code")
        )
        self.fields[
            "add_on"
        ].help_text = (
            "bought now: its allowances are granted at once; a prepaid balance pays its price"
        )


class SubscriptionUserForm(forms.Form):
    user_name = forms.CharField(
        label="Used by",
        max_length=200,
        required=False,
        help_text="the person using the line (a family member, an employee); empty: the "
        "account holder",
    )

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user_name"].initial = subscription.user_name


class SwapSimForm(forms.Form):
    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sim"] = AvailableSimField(
            user=user, label="New SIM (ICCID)", help_text="the old SIM is retired"
        )


class TerminateForm(forms.Form):
    effective_date = forms.DateField(
        widget=date_input(),
        help_text="the subscription ends at 00:00 of this day in the account's timezone; "
        "the day before is its last day of service",
    )

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["effective_date"].initial = tomorrow(subscription.billing_account)
