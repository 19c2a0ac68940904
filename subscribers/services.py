"""Writes of the subscribers app: one function per business action, each owning its transaction.

Lifecycle actions close the subscription's open term at the instant they take effect and open
the next one, so what was in force at any instant stays answerable (R19, R25).
"""

import csv
import datetime as dt
import hashlib
import hmac
import io
import secrets
import zlib
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from stdnum import imsi as imsi_number
from stdnum import luhn
from stdnum.eu import vat

from catalog.models import UNIT_SIZE, PaymentModel, Status
from catalog.selectors import plan_version_at
from core.money import as_decimal, quantize_minor, quantize_rated
from core.periods import billing_period_containing, local_midnight, require_aware
from subscribers.models import (
    BalanceMovement,
    BillingAccount,
    Bucket,
    BucketMovement,
    BucketMovementKind,
    BucketSource,
    Customer,
    CustomerKind,
    MovementKind,
    Sim,
    SimBatch,
    SimStatus,
    Subscription,
    SubscriptionAddOn,
    SubscriptionStatus,
    SubscriptionTerm,
    TopUp,
    TopUpChannel,
    Voucher,
    VoucherBatch,
    VoucherStatus,
)
from subscribers.selectors import require_subscriber_change

# The lifecycle (issue: pending → active → suspended/barred → active → terminated).
TRANSITIONS = {
    "activate": ({SubscriptionStatus.PENDING}, SubscriptionStatus.ACTIVE),
    "suspend": (
        {SubscriptionStatus.ACTIVE, SubscriptionStatus.BARRED},
        SubscriptionStatus.SUSPENDED,
    ),
    "bar": ({SubscriptionStatus.ACTIVE}, SubscriptionStatus.BARRED),
    "reactivate": (
        {SubscriptionStatus.SUSPENDED, SubscriptionStatus.BARRED},
        SubscriptionStatus.ACTIVE,
    ),
    "terminate": (
        {
            SubscriptionStatus.PENDING,
            SubscriptionStatus.ACTIVE,
            SubscriptionStatus.SUSPENDED,
            SubscriptionStatus.BARRED,
        },
        SubscriptionStatus.TERMINATED,
    ),
}
PORT_OUT = "port out"


def _audit(obj, acting_user, reason: str | None = None):
    # Every audited write passes here: a brand-limited user is refused another brand's object.
    require_subscriber_change(obj, acting_user)
    if acting_user is not None and getattr(acting_user, "is_authenticated", False):
        obj._history_user = acting_user
    if reason:
        obj._change_reason = reason
    return obj


def _save(obj, acting_user, reason: str | None = None):
    obj.full_clean()
    _audit(obj, acting_user, reason)
    obj.save()
    return obj


def _user(acting_user):
    return acting_user if getattr(acting_user, "is_authenticated", False) else None


def normalise_msisdn(value: str) -> str:
    """Return an MSISDN as E.164 digits without '+'; refuse a number that cannot exist."""
    raw = str(value).strip().replace(" ", "")
    if raw.startswith("00"):
        raw = raw[2:]
    raw = raw.lstrip("+")
    if not raw.isdigit():
        raise ValidationError({"msisdn": "an MSISDN is an E.164 number: digits only"})
    try:
        parsed = phonenumbers.parse(f"+{raw}")
    except phonenumbers.NumberParseException as error:
        raise ValidationError({"msisdn": f"not an E.164 number: {error}"}) from error
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError({"msisdn": f"+{raw} is not a valid number of its country"})
    return raw


def check_iccid(value: str) -> str:
    """Refuse an ICCID that is not 18 to 22 digits with a valid Luhn check digit."""
    value = str(value).strip()
    if not value.isdigit() or not 18 <= len(value) <= 22:
        raise ValidationError({"iccid": "an ICCID has 18 to 22 digits"})
    if not luhn.is_valid(value):
        raise ValidationError({"iccid": f"{value}: wrong check digit"})
    return value


def check_imsi(value: str) -> str:
    """Refuse an IMSI that is not 15 digits with a known MCC."""
    value = str(value).strip()
    if not imsi_number.is_valid(value) or len(value) != 15:
        raise ValidationError({"imsi": f"{value}: an IMSI has 15 digits and a known MCC"})
    return value


# --- customers and accounts -----------------------------------------------------------------

CUSTOMER_FIELDS = (
    "brand",
    "kind",
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
)


def _next_number(model, prefix: str) -> str:
    last = (
        model.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{sequence:07d}"


def customer_save(*, data: dict, customer: Customer | None = None, acting_user=None) -> Customer:
    """Create or update a customer; a business has a company name and a valid VAT number."""
    kind = data.get("kind", customer.kind if customer else None)
    if kind == CustomerKind.BUSINESS and not data.get(
        "company_name", getattr(customer, "company_name", "")
    ):
        raise ValidationError({"company_name": "a business customer has a company name"})
    if kind == CustomerKind.PERSON and not data.get(
        "last_name", getattr(customer, "last_name", "")
    ):
        raise ValidationError({"last_name": "a person has a last name"})
    tax_id = (data.get("tax_id") or "").replace(" ", "").upper()
    if tax_id:
        if not vat.is_valid(tax_id):
            raise ValidationError({"tax_id": f"{tax_id} is not a valid EU VAT number"})
        data = {**data, "tax_id": vat.compact(tax_id)}
    with transaction.atomic():
        customer = customer or Customer(number=data.get("number") or _next_number(Customer, "C"))
        for name in CUSTOMER_FIELDS:
            if name in data:
                setattr(customer, name, data[name])
        return _save(customer, acting_user)


ACCOUNT_FIELDS = (
    "name",
    "currency",
    "timezone",
    "bill_cycle_day",
    "payment_terms_days",
    "tax_region",
    "payment_model",
    "credit_limit",
    "dunning_policy",
    "parent",
    "invoice_to_parent",
)


def billing_account_save(
    *,
    customer: Customer,
    data: dict,
    billing_account: BillingAccount | None = None,
    acting_user=None,
) -> BillingAccount:
    """Create or update a billing account (TMF666), refusing loops in a B2B hierarchy."""
    name = data.get("timezone", getattr(billing_account, "timezone", "Europe/Berlin"))
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValidationError({"timezone": f"unknown timezone {name!r}"}) from error
    parent = data.get("parent", getattr(billing_account, "parent", None))
    if parent is not None:
        if parent.customer.brand_id != customer.brand_id:
            raise ValidationError({"parent": "a parent account belongs to the same brand"})
        if parent.currency != data.get("currency", getattr(billing_account, "currency", "EUR")):
            raise ValidationError({"parent": "a parent account has the same currency"})
        ancestor = parent
        while ancestor is not None:
            if billing_account is not None and ancestor.pk == billing_account.pk:
                raise ValidationError({"parent": "an account cannot be its own ancestor"})
            ancestor = ancestor.parent
    if billing_account is not None and billing_account.pk:
        stored = BillingAccount.objects.get(pk=billing_account.pk)
        live = stored.subscriptions.exclude(status=SubscriptionStatus.TERMINATED).exists()
        if data.get("currency", stored.currency) != stored.currency and (
            stored.subscriptions.exists()
        ):
            raise ValidationError({"currency": "the account has subscriptions: currency stays"})
        if data.get("payment_model", stored.payment_model) != stored.payment_model and live:
            raise ValidationError(
                {
                    "payment_model": "the account has live subscriptions on "
                    f"{stored.payment_model} plans: its payment model stays"
                }
            )
    with transaction.atomic():
        account = billing_account or BillingAccount(
            customer=customer, number=data.get("number") or _next_number(BillingAccount, "A")
        )
        for field in ACCOUNT_FIELDS:
            if field in data:
                setattr(account, field, data[field])
        if not account.invoice_to_parent or account.parent is not None:
            return _save(account, acting_user)
        raise ValidationError({"invoice_to_parent": "only an account with a parent rolls up"})


# --- SIM inventory --------------------------------------------------------------------------


def sim_batch_load(*, reference: str, host_network, csv_text: str, acting_user=None) -> SimBatch:
    """Load a batch of SIMs from CSV with a header ``iccid,imsi``; all or nothing."""
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if header[:2] != ["iccid", "imsi"]:
        raise ValidationError({"file": "the first line must be the header: iccid,imsi"})
    errors, rows, seen = [], [], set()
    for line, raw in enumerate(reader, start=2):
        values = {key.strip().lower(): (value or "").strip() for key, value in raw.items() if key}
        try:
            iccid, imsi = check_iccid(values["iccid"]), check_imsi(values["imsi"])
        except ValidationError as error:
            errors.append(f"line {line}: {'; '.join(error.messages)}")
            continue
        if iccid in seen or imsi in seen:
            errors.append(f"line {line}: ICCID or IMSI repeated in the file")
        seen.update((iccid, imsi))
        rows.append((line, iccid, imsi))
    if not rows and not errors:
        errors.append("the file holds no SIM")
    taken = Sim.objects.filter(
        Q(iccid__in=[r[1] for r in rows]) | Q(imsi__in=[r[2] for r in rows])
    ).values_list("iccid", "imsi")
    known = {value for pair in taken for value in pair}
    errors += [f"line {line}: already in stock" for line, i, m in rows if i in known or m in known]
    if errors:
        raise ValidationError({"file": errors[:50]})
    if SimBatch.objects.filter(reference=reference).exists():
        raise ValidationError({"reference": f"a SIM batch {reference} exists already"})
    with transaction.atomic():
        batch = SimBatch.objects.create(
            reference=reference,
            host_network=host_network,
            loaded_by=_user(acting_user),
            count=len(rows),
        )
        Sim.objects.bulk_create(
            Sim(iccid=iccid, imsi=imsi, batch=batch, host_network=host_network)
            for _, iccid, imsi in rows
        )
    return batch


def sim_retire(*, sim: Sim, acting_user=None) -> Sim:
    """Take an unassigned SIM out of stock (lost, broken)."""
    with transaction.atomic():
        sim = Sim.objects.select_for_update().get(pk=sim.pk)
        if sim.status == SimStatus.ASSIGNED:
            raise ValidationError({"sim": "the SIM is on a subscription: swap it first"})
        sim.status = SimStatus.RETIRED
        return _save(sim, acting_user, "retired")


def _take_sim(sim: Sim) -> Sim:
    """Lock an available SIM and mark it assigned (one SIM, one subscription)."""
    locked = Sim.objects.select_for_update().get(pk=sim.pk)
    if locked.status != SimStatus.AVAILABLE:
        raise ValidationError({"sim": f"SIM {locked.iccid} is {locked.status}, not available"})
    locked.status = SimStatus.ASSIGNED
    locked.save(update_fields=["status", "updated_at"])
    return locked


# --- subscriptions --------------------------------------------------------------------------


def _check_msisdn_free(msisdn: str, since: dt.datetime, exclude=None) -> None:
    """Refuse a number held by another subscription at or after ``since``.

    On PostgreSQL a transaction-scoped advisory lock on the number makes two concurrent orders
    of one number (on different accounts) check and insert one after the other.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = zlib.crc32(f"msisdn:{msisdn}".encode())
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    clash = SubscriptionTerm.objects.filter(msisdn=msisdn).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=since)
    )
    clash = clash.exclude(status=SubscriptionStatus.TERMINATED)
    if exclude is not None:
        clash = clash.exclude(subscription=exclude)
    if clash.exists():
        raise ValidationError({"msisdn": f"+{msisdn} belongs to another subscription"})


def _check_tax_mode(account: BillingAccount, plan, exclude=None) -> None:
    """Refuse mixing tax-inclusive and net plans in one account (R4)."""
    version = plan.versions.exclude(status=Status.DRAFT).order_by("-effective_from").first()
    if version is None:
        raise ValidationError({"plan": f"plan {plan.code} has no published version"})
    others = account.subscriptions.exclude(status=SubscriptionStatus.TERMINATED)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    for other in others.select_related("plan"):
        other_version = (
            other.plan.versions.exclude(status=Status.DRAFT).order_by("-effective_from").first()
        )
        if other_version and other_version.tax_inclusive != version.tax_inclusive:
            raise ValidationError(
                {"plan": "all plans of one account are tax-inclusive or none is (R4)"}
            )


def subscription_user_set(*, subscription: Subscription, user_name: str, acting_user=None):
    """Name the person who uses a subscription's line (empty: the account holder)."""
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.user_name = " ".join(user_name.split())
        _save(subscription, acting_user, "user named" if subscription.user_name else "user cleared")
    return subscription


def subscription_create(
    *,
    billing_account: BillingAccount,
    plan,
    msisdn: str,
    sim: Sim | None = None,
    created_at: dt.datetime | None = None,
    user_name: str = "",
    acting_user=None,
) -> Subscription:
    """Order a subscription: pending, holding its number and SIM from ``created_at`` on."""
    created_at = require_aware(created_at or timezone.now())
    msisdn = normalise_msisdn(msisdn)
    if billing_account.status != "active":
        raise ValidationError({"billing_account": "the account is closed"})
    if plan.brand_id != billing_account.customer.brand_id:
        raise ValidationError({"plan": "the plan belongs to another brand"})
    if plan.currency != billing_account.currency:
        raise ValidationError({"plan": "the plan is in another currency than the account"})
    if plan.payment_model != billing_account.payment_model:
        raise ValidationError(
            {"plan": f"a {plan.payment_model} plan on a {billing_account.payment_model} account"}
        )
    with transaction.atomic():
        BillingAccount.objects.select_for_update().get(pk=billing_account.pk)
        _check_tax_mode(billing_account, plan)
        _check_msisdn_free(msisdn, created_at)
        if sim is not None:
            sim = _take_sim(sim)
        subscription = Subscription(
            billing_account=billing_account,
            plan=plan,
            msisdn=msisdn,
            sim=sim,
            status=SubscriptionStatus.PENDING,
            user_name=" ".join(user_name.split()),
        )
        _save(subscription, acting_user, "ordered")
        SubscriptionTerm.objects.create(
            subscription=subscription,
            valid_from=created_at,
            msisdn=msisdn,
            imsi=sim.imsi if sim else "",
            sim=sim,
            plan=plan,
            status=SubscriptionStatus.PENDING,
            change="create",
        )
    return subscription


def _next_term(
    subscription: Subscription, *, at: dt.datetime, change: str, acting_user, **changes
) -> Subscription:
    """Close the open term at ``at`` and open the next one with ``changes`` (caller locks)."""
    require_aware(at)
    current = SubscriptionTerm.objects.select_for_update().get(
        subscription=subscription, valid_to__isnull=True
    )
    if at < current.valid_from:
        raise ValidationError(
            {
                "effective_at": "the last change took effect "
                f"{current.valid_from:%Y-%m-%d %H:%M %Z}; a new one cannot take effect before it"
            }
        )
    values = {
        "msisdn": current.msisdn,
        "imsi": current.imsi,
        "sim": current.sim,
        "plan": current.plan,
        "status": current.status,
        **changes,
    }
    if at == current.valid_from:
        # Two changes at one instant: the later one rewrites the term that has not begun.
        for name, value in values.items():
            setattr(current, name, value)
        current.change = f"{current.change}+{change}"[:40]
        current.save()
    else:
        current.valid_to = at
        current.save(update_fields=["valid_to"])
        SubscriptionTerm.objects.create(
            subscription=subscription, valid_from=at, change=change, **values
        )
    for name in ("msisdn", "sim", "plan", "status"):
        setattr(subscription, name, values[name])
    return _save(subscription, acting_user, change)


def _lock(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update()
        .select_related("billing_account", "plan")
        .get(pk=subscription.pk)
    )


def subscription_transition(
    *,
    subscription: Subscription,
    action: str,
    effective_at: dt.datetime | None = None,
    reason: str = "",
    acting_user=None,
) -> Subscription:
    """Move a subscription through its lifecycle; an illegal move is refused."""
    if action not in TRANSITIONS:
        raise ValidationError({"action": f"unknown action {action!r}"})
    allowed, target = TRANSITIONS[action]
    effective_at = require_aware(effective_at or timezone.now())
    with transaction.atomic():
        subscription = _lock(subscription)
        if subscription.status not in allowed:
            raise ValidationError(
                {"status": f"cannot {action} a subscription that is {subscription.status}"}
            )
        if action == "activate":
            version = plan_version_at(plan=subscription.plan, instant=effective_at)
            if version is None:
                raise ValidationError(
                    {"plan": f"plan {subscription.plan.code} has no version in force then"}
                )
            subscription.activated_at = effective_at
        if action == "terminate":
            subscription.terminated_at = effective_at
        subscription = _next_term(
            subscription,
            at=effective_at,
            change=reason or action,
            acting_user=acting_user,
            status=target,
        )
        if action == "terminate" and subscription.sim_id:
            Sim.objects.filter(pk=subscription.sim_id).update(status=SimStatus.RETIRED)
    return subscription


def subscription_activate(*, subscription, effective_at=None, acting_user=None):
    """Activate a pending subscription."""
    return subscription_transition(
        subscription=subscription,
        action="activate",
        effective_at=effective_at,
        acting_user=acting_user,
    )


def subscription_suspend(*, subscription, effective_at=None, reason="", acting_user=None):
    """Suspend every service (usage is no longer rated)."""
    return subscription_transition(
        subscription=subscription,
        action="suspend",
        effective_at=effective_at,
        reason=reason,
        acting_user=acting_user,
    )


def subscription_bar(*, subscription, effective_at=None, reason="", acting_user=None):
    """Bar outgoing services; incoming usage is still rated."""
    return subscription_transition(
        subscription=subscription,
        action="bar",
        effective_at=effective_at,
        reason=reason,
        acting_user=acting_user,
    )


def subscription_reactivate(*, subscription, effective_at=None, reason="", acting_user=None):
    """Lift a suspension or a bar."""
    return subscription_transition(
        subscription=subscription,
        action="reactivate",
        effective_at=effective_at,
        reason=reason,
        acting_user=acting_user,
    )


def subscription_terminate(
    *, subscription, effective_at=None, port_out: bool = False, reason: str = "", acting_user=None
):
    """End a subscription (or port its number out); its SIM is retired. ``reason`` names who
    ended it when not the customer (e.g. the dunning of an unpaid invoice, R30)."""
    return subscription_transition(
        subscription=subscription,
        action="terminate",
        effective_at=effective_at,
        reason=PORT_OUT if port_out else (reason or "terminate"),
        acting_user=acting_user,
    )


def subscription_change_plan(
    *, subscription: Subscription, plan, change_date: dt.date, acting_user=None
) -> Subscription:
    """Move a subscription to another plan at 00:00 of ``change_date`` in the account's
    timezone (R25). The old plan's own buckets end at the change; the bill run credits and
    charges the two plans by days (R24) from the terms.
    """
    with transaction.atomic():
        subscription = _lock(subscription)
        account = subscription.billing_account
        if subscription.status == SubscriptionStatus.TERMINATED:
            raise ValidationError({"status": "a terminated subscription keeps its plan"})
        if plan.pk == subscription.plan_id:
            raise ValidationError({"plan": "the subscription is on this plan already"})
        if plan.brand_id != account.customer.brand_id or plan.currency != account.currency:
            raise ValidationError({"plan": "the plan is of another brand or currency"})
        if plan.payment_model != account.payment_model:
            raise ValidationError(
                {"plan": f"a {plan.payment_model} plan on a {account.payment_model} account"}
            )
        _check_tax_mode(account, plan, exclude=subscription)
        at = local_midnight(change_date, account.timezone)
        if plan_version_at(plan=plan, instant=at) is None:
            raise ValidationError(
                {"plan": f"plan {plan.code} has no version in force on {change_date}"}
            )
        old_plan = subscription.plan
        subscription = _next_term(
            subscription,
            at=at,
            change=f"plan change {old_plan.code} → {plan.code}",
            acting_user=acting_user,
            plan=plan,
        )
        ended = Bucket.objects.filter(
            Q(subscription=subscription) | Q(billing_account=account, shared=True),
            source=BucketSource.PLAN,
            plan_version__plan=old_plan,
            valid_to__gt=at,
        )
        for bucket in ended.filter(valid_from__gte=at, shared=False):
            bucket.movements.create(
                kind=BucketMovementKind.EXPIRY,
                quantity=-bucket_remaining(bucket),
                reason="plan change before the bucket's start (R25)",
                reference=f"subscription {subscription.pk}",
                created_by=_user(acting_user),
            )
        ended.filter(valid_from__lt=at).filter(shared=False).update(valid_to=at)
    return subscription


def subscription_swap_sim(
    *, subscription: Subscription, sim: Sim, effective_at=None, acting_user=None
) -> Subscription:
    """Move a subscription to another SIM; the old one is retired."""
    effective_at = require_aware(effective_at or timezone.now())
    with transaction.atomic():
        subscription = _lock(subscription)
        if subscription.status == SubscriptionStatus.TERMINATED:
            raise ValidationError({"status": "a terminated subscription has no SIM to swap"})
        new_sim = _take_sim(sim)
        if subscription.sim_id:
            Sim.objects.filter(pk=subscription.sim_id).update(status=SimStatus.RETIRED)
        return _next_term(
            subscription,
            at=effective_at,
            change="SIM swap",
            acting_user=acting_user,
            sim=new_sim,
            imsi=new_sim.imsi,
        )


# --- add-ons --------------------------------------------------------------------------------


def subscription_add_on_add(
    *, subscription: Subscription, add_on, effective_at=None, acting_user=None
) -> SubscriptionAddOn:
    """Buy an add-on for a subscription: grant its allowances now, charge a prepaid balance.

    A postpaid subscription pays the add-on's price on the invoice of the period it was bought
    in (R34).
    """
    effective_at = require_aware(effective_at or timezone.now())
    with transaction.atomic():
        subscription = _lock(subscription)
        account = subscription.billing_account
        if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.BARRED):
            raise ValidationError({"status": "add-ons are bought for active subscriptions"})
        if add_on.status != Status.PUBLISHED:
            raise ValidationError({"add_on": f"add-on {add_on.code} is not on sale"})
        if add_on.currency != account.currency:
            raise ValidationError({"add_on": "the add-on is in another currency"})
        plan_version = plan_version_at(plan=subscription.plan, instant=effective_at)
        if plan_version is not None and plan_version.tax_inclusive != add_on.tax_inclusive:
            raise ValidationError(
                {"add_on": "all plans and add-ons of one account are tax-inclusive or none is (R4)"}
            )
        if (
            add_on.eligible_plans.exists()
            and not add_on.eligible_plans.filter(pk=subscription.plan_id).exists()
        ):
            raise ValidationError({"add_on": f"not available on plan {subscription.plan.code}"})
        period = billing_period_containing(
            effective_at, tz=account.timezone, cycle_day=account.bill_cycle_day
        )
        if add_on.validity_days:
            valid_to = effective_at + dt.timedelta(days=add_on.validity_days)
        else:
            valid_to = period.end
        bought = SubscriptionAddOn(
            subscription=subscription, add_on=add_on, valid_from=effective_at, valid_to=valid_to
        )
        _save(bought, acting_user, "bought")
        if account.payment_model in (PaymentModel.PREPAID, PaymentModel.HYBRID) and add_on.price:
            balance_charge(
                billing_account=account,
                amount=add_on.price,
                reason=f"add-on {add_on.code}",
                reference=f"subscription-add-on {bought.pk}",
                acting_user=acting_user,
            )
        for allowance in add_on.allowances.all():
            Bucket.objects.create(
                subscription=None if allowance.shared else subscription,
                billing_account=account,
                shared=allowance.shared,
                source=BucketSource.ADD_ON,
                allowance=allowance,
                subscription_add_on=bought,
                name=f"{add_on.code}: {allowance.name}",
                services=allowance.services,
                unit=_base_unit(allowance.unit),
                initial=allowance.quantity_base,
                valid_from=effective_at,
                valid_to=valid_to,
            )
    return bought


def subscription_add_on_remove(
    *, subscription_add_on: SubscriptionAddOn, effective_at=None, acting_user=None
) -> SubscriptionAddOn:
    """Stop a recurring add-on from renewing; what was paid stays valid until its end."""
    effective_at = require_aware(effective_at or timezone.now())
    with transaction.atomic():
        bought = SubscriptionAddOn.objects.select_for_update().get(pk=subscription_add_on.pk)
        if bought.removed_at is not None:
            raise ValidationError("this add-on was removed already")
        bought.removed_at = effective_at
        return _save(bought, acting_user, "removed")


def _base_unit(unit: str) -> str:
    if unit in ("SECOND", "MINUTE"):
        return "SECOND"
    if unit in ("BYTE", "KB", "MB", "GB"):
        return "BYTE"
    return unit


# --- buckets --------------------------------------------------------------------------------


def bucket_remaining(bucket: Bucket) -> int:
    """Return what is left of a bucket: initial plus its signed movements."""
    from django.db.models import Sum

    moved = bucket.movements.aggregate(total=Sum("quantity"))["total"] or 0
    return bucket.initial + moved


def buckets_grant_for_period(
    *, subscription: Subscription, period_start: dt.datetime, period_end: dt.datetime
) -> list[Bucket]:
    """Grant the plan allowances of a subscription for one billing period (R12).

    Each plan stretch of the period gets its plan version's allowances in full (R12, R25),
    from the later of the period start and the stretch start to the earlier of the ends. A
    shared allowance makes one bucket for the account. Granting twice changes nothing (a
    unique constraint).
    """
    account_id = subscription.billing_account_id
    buckets_grant(periods=[(subscription.pk, account_id, period_start, period_end)])
    return list(
        Bucket.objects.filter(
            Q(subscription=subscription) | Q(billing_account_id=account_id, shared=True),
            source=BucketSource.PLAN,
            valid_from__lt=period_end,
            valid_to__gt=period_start,
        )
    )


def buckets_grant(*, periods) -> None:
    """Grant plan allowances for many (subscription id, account id, period start, period end).

    Set-based for the rating engine: one query for the terms, one for the plan versions and
    their allowances, one insert; already granted buckets are left as they are (R12).
    """
    periods = list(periods)
    if not periods:
        return
    from catalog.selectors import plan_versions_in_force

    first = min(p[2] for p in periods)
    last = max(p[3] for p in periods)
    # Plain values, not model instances: the rating engine grants for thousands of
    # subscriptions per batch (issue 14).
    terms_of: dict[int, list[tuple]] = {}
    for subscription_id, plan_id, valid_from, valid_to in (
        SubscriptionTerm.objects.filter(
            subscription_id__in={p[0] for p in periods}, valid_from__lt=last
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=first))
        .exclude(status__in=(SubscriptionStatus.PENDING, SubscriptionStatus.TERMINATED))
        .order_by("subscription_id", "valid_from")
        .values_list("subscription_id", "plan_id", "valid_from", "valid_to")
    ):
        terms_of.setdefault(subscription_id, []).append((plan_id, valid_from, valid_to))
    plan_ids = {term[0] for terms in terms_of.values() for term in terms}
    versions_of = plan_versions_in_force(plan_ids=plan_ids, start=first, end=last)
    version_ids = [v.pk for versions in versions_of.values() for v in versions]
    allowances_of: dict[int, list] = {}
    from catalog.models import Allowance

    for allowance in Allowance.objects.filter(plan_version_id__in=version_ids).order_by("id"):
        allowances_of.setdefault(allowance.plan_version_id, []).append(allowance)
    wanted = []
    for subscription_id, account_id, period_start, period_end in periods:
        stretches: list[list] = []
        for plan_id, valid_from, valid_to in terms_of.get(subscription_id, ()):
            if valid_from >= period_end or (valid_to and valid_to <= period_start):
                continue
            start = max(valid_from, period_start)
            end = min(valid_to or period_end, period_end)
            if stretches and stretches[-1][0] == plan_id and stretches[-1][2] == start:
                stretches[-1][2] = end
            else:
                stretches.append([plan_id, start, end])
        for plan_id, start, end in stretches:
            version = None
            for candidate in versions_of.get(plan_id, ()):
                if candidate.effective_from <= start:
                    version = candidate
            if version is None:
                continue
            for allowance in allowances_of.get(version.pk, ()):
                wanted.append(
                    (
                        None if allowance.shared else subscription_id,
                        account_id,
                        allowance.shared,
                        allowance,
                        version.pk,
                        period_start if allowance.shared else start,
                        period_end if allowance.shared else end,
                    )
                )
    if wanted:
        _buckets_insert(wanted)


def _buckets_insert(wanted: list[tuple]) -> None:
    """Insert plan buckets ``(subscription id, account id, shared, allowance, version id, from,
    to)``; those granted already are skipped (the grant-once constraints, R12)."""
    if connection.vendor != "postgresql":
        with transaction.atomic():
            Bucket.objects.bulk_create(
                [
                    Bucket(
                        subscription_id=subscription_id, billing_account_id=account_id,
                        shared=shared, source=BucketSource.PLAN, allowance=allowance,
                        plan_version_id=version_id, name=allowance.name,
                        services=allowance.services, unit=_base_unit(allowance.unit),
                        initial=allowance.quantity * UNIT_SIZE[allowance.unit],
                        valid_from=valid_from, valid_to=valid_to,
                    )
                    for subscription_id, account_id, shared, allowance, version_id, valid_from,
                    valid_to in wanted
                ],
                ignore_conflicts=True,
            )  # fmt: skip
        return
    # One statement of arrays (unnest): no model instance per bucket, the same rows and the
    # same ON CONFLICT DO NOTHING as bulk_create(ignore_conflicts=True).
    import json

    columns = list(zip(*wanted, strict=True))
    allowances = columns[3]
    table = Bucket._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (subscription_id, billing_account_id, shared, source, "
            "allowance_id, plan_version_id, name, services, unit, initial, valid_from, valid_to, "
            "created_at) SELECT s, a, sh, %s, al, v, n, sv::jsonb, u, i, f, t, now() FROM "
            "unnest(%s::bigint[], %s::bigint[], %s::boolean[], %s::bigint[], %s::bigint[], "
            "%s::text[], %s::text[], %s::text[], %s::bigint[], %s::timestamptz[], "
            "%s::timestamptz[]) AS w(s, a, sh, al, v, n, sv, u, i, f, t) ON CONFLICT DO NOTHING",
            [
                BucketSource.PLAN.value,
                list(columns[0]),
                list(columns[1]),
                list(columns[2]),
                [a.pk for a in allowances],
                list(columns[4]),
                [a.name for a in allowances],
                [json.dumps(a.services) for a in allowances],
                [_base_unit(a.unit) for a in allowances],
                [a.quantity * UNIT_SIZE[a.unit] for a in allowances],
                list(columns[5]),
                list(columns[6]),
            ],
        )


def bucket_adjust(*, bucket: Bucket, quantity: int, reason: str, acting_user=None):
    """Add units to (or take units from) a bucket, with a reason; never below zero."""
    if not reason:
        raise ValidationError({"reason": "an adjustment says why"})
    require_subscriber_change(bucket, acting_user)
    with transaction.atomic():
        bucket = Bucket.objects.select_for_update().get(pk=bucket.pk)
        if bucket_remaining(bucket) + quantity < 0:
            raise ValidationError({"quantity": "a bucket cannot go below zero"})
        return BucketMovement.objects.create(
            bucket=bucket,
            kind=BucketMovementKind.ADJUSTMENT,
            quantity=quantity,
            reason=reason,
            created_by=_user(acting_user),
        )


# --- balances, top-ups, vouchers ------------------------------------------------------------


def balance_of(billing_account: BillingAccount) -> Decimal:
    """Return an account's money balance: the sum of its ledger (R21).

    SQLite adds decimals as binary floats; every movement has 6 places, so rounding the sum to
    6 places gives back the exact total (PostgreSQL adds exactly and the rounding changes nothing).
    """
    from django.db.models import Sum

    total = billing_account.balance_movements.aggregate(total=Sum("amount"))["total"]
    return quantize_rated(total) if total is not None else Decimal("0")


def _lock_account(billing_account: BillingAccount) -> BillingAccount:
    return BillingAccount.objects.select_for_update().get(pk=billing_account.pk)


def _require_balance_account(account: BillingAccount) -> None:
    if account.payment_model == PaymentModel.POSTPAID:
        raise ValidationError({"billing_account": "a postpaid account has no prepaid balance"})


def balance_charge(
    *, billing_account, amount: Decimal, reason: str, reference: str = "", acting_user=None
) -> BalanceMovement:
    """Take money from a balance; refused past zero (or the credit limit of a hybrid, R21)."""
    amount = as_decimal(amount)
    if amount <= 0:
        raise ValidationError({"amount": "a charge is positive"})
    with transaction.atomic():
        account = _lock_account(billing_account)
        _require_balance_account(account)
        floor = -account.credit_limit if account.payment_model == PaymentModel.HYBRID else 0
        if balance_of(account) - amount < floor:
            raise ValidationError({"amount": "not enough balance (R21)"})
        return BalanceMovement.objects.create(
            billing_account=account,
            kind=MovementKind.CHARGE,
            amount=-amount,
            currency=account.currency,
            reason=reason,
            reference=reference,
            created_by=_user(acting_user),
        )


def balance_adjust(
    *, billing_account, amount: Decimal, reason: str, reference: str = "", acting_user=None
) -> BalanceMovement:
    """Correct a balance by a signed amount, with a reason (goodwill, correction)."""
    if not reason:
        raise ValidationError({"reason": "an adjustment says why"})
    if amount == 0:
        raise ValidationError({"amount": "an adjustment is not zero"})
    require_subscriber_change(billing_account, acting_user)
    with transaction.atomic():
        account = _lock_account(billing_account)
        _require_balance_account(account)
        return BalanceMovement.objects.create(
            billing_account=account,
            kind=MovementKind.ADJUSTMENT,
            amount=amount,
            currency=account.currency,
            reason=reason,
            reference=reference,
            created_by=_user(acting_user),
        )


def top_up(
    *, billing_account, amount: Decimal, channel: str, reference: str, acting_user=None
) -> TopUp:
    """Add money to a prepaid or hybrid balance; one top-up per (channel, reference)."""
    if channel not in TopUpChannel.values:
        raise ValidationError({"channel": f"one of {', '.join(TopUpChannel.values)}"})
    if not reference:
        raise ValidationError({"reference": "a top-up names its reference"})
    amount = as_decimal(amount)
    if amount <= 0 or amount != quantize_minor(amount, billing_account.currency):
        raise ValidationError({"amount": "a positive amount in the currency's minor unit"})
    require_subscriber_change(billing_account, acting_user)
    try:
        with transaction.atomic():
            account = _lock_account(billing_account)
            _require_balance_account(account)
            movement = BalanceMovement.objects.create(
                billing_account=account,
                kind=MovementKind.TOPUP,
                amount=amount,
                currency=account.currency,
                reason=f"top-up via {channel}",
                reference=reference,
                created_by=_user(acting_user),
            )
            topped = TopUp.objects.create(
                billing_account=account,
                amount=amount,
                currency=account.currency,
                channel=channel,
                reference=reference,
                movement=movement,
                created_by=_user(acting_user),
            )
            if account.payment_model == PaymentModel.PREPAID:
                # A renewal that waited for money (the subscription suspended) renews now.
                transaction.on_commit(lambda: _renewals_retry(account.pk))
            return topped
    except IntegrityError as error:
        raise ValidationError(
            {"reference": f"a {channel} top-up with reference {reference} exists already"}
        ) from error


def _renewals_retry(billing_account_id: int) -> None:
    from subscribers.tasks import prepaid_renewals_retry_task

    prepaid_renewals_retry_task.delay(billing_account_id)


def _voucher_hash(code: str) -> str:
    """Keyed hash of a voucher code: without VOUCHER_SECRET a stolen table cannot be brute-forced
    (16 digits are only 10^16 guesses for a plain hash)."""
    digits = code.replace("-", "").replace(" ", "").encode()
    return hmac.new(settings.VOUCHER_SECRET.encode(), digits, hashlib.sha256).hexdigest()


def voucher_batch_create(
    *,
    reference: str,
    brand,
    value: Decimal,
    currency: str,
    count: int,
    valid_until=None,
    acting_user=None,
) -> tuple[VoucherBatch, list[tuple[str, str]]]:
    """Create a batch of vouchers; return it with (serial, code) pairs, shown only this once.

    Only a hash of each code is stored, so a leaked database does not leak usable vouchers.
    """
    if not 1 <= count <= 100_000:
        raise ValidationError({"count": "1 to 100,000 vouchers per batch"})
    if value <= 0:
        raise ValidationError({"value": "a voucher is worth something"})
    with transaction.atomic():
        batch = VoucherBatch(
            reference=reference,
            brand=brand,
            value=value,
            currency=currency,
            count=count,
            valid_until=valid_until,
            created_by=_user(acting_user),
        )
        _save(batch, acting_user)
        codes = []
        vouchers = []
        for index in range(1, count + 1):
            code = "".join(secrets.choice("0123456789") for _ in range(16))
            serial = f"{reference}-{index:06d}"
            codes.append((serial, "-".join(code[i : i + 4] for i in range(0, 16, 4))))
            vouchers.append(Voucher(batch=batch, serial=serial, code_hash=_voucher_hash(code)))
        Voucher.objects.bulk_create(vouchers)
    return batch, codes


def voucher_redeem(*, code: str, billing_account, acting_user=None) -> TopUp:
    """Redeem a voucher onto a balance, once: a second redemption is refused."""
    require_subscriber_change(billing_account, acting_user)
    digest = _voucher_hash(code)
    with transaction.atomic():
        voucher = (
            Voucher.objects.select_for_update()
            .select_related("batch")
            .filter(code_hash=digest)
            .first()
        )
        if voucher is None:
            raise ValidationError({"code": "no such voucher"})
        if voucher.status != VoucherStatus.ACTIVE:
            raise ValidationError({"code": f"this voucher is {voucher.status}"})
        batch = voucher.batch
        if batch.valid_until and batch.valid_until < timezone.now():
            raise ValidationError({"code": "this voucher has expired"})
        if batch.currency != billing_account.currency:
            raise ValidationError({"code": "this voucher is in another currency"})
        if batch.brand_id != billing_account.customer.brand_id:
            raise ValidationError({"code": "this voucher is of another brand"})
        topped = top_up(
            billing_account=billing_account,
            amount=batch.value,
            channel=TopUpChannel.VOUCHER,
            reference=voucher.serial,
            acting_user=acting_user,
        )
        voucher.status = VoucherStatus.REDEEMED
        voucher.redeemed_at = timezone.now()
        voucher.top_up = topped
        voucher.save(update_fields=["status", "redeemed_at", "top_up"])
    return topped
