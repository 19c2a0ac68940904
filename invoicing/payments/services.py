"""Writes of the payments: record, allocate, refund, return, and the invoice states that follow
the money.

Every write locks the billing account's row first (``select_for_update``): it is the one lock
that serialises an account's money, so two payments of one account never allocate the same
amount due twice. Money rows are append-only: allocations taken back are negative rows.

``invoice_payment_state_refresh`` is the ONE place that moves an invoice between issued,
partially paid, overdue and paid; ``on_invoices_paid`` is the ONE hook called when invoices
become paid (the dunning reacts to it).
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.money import quantize_minor
from core.outbox import publish
from invoicing.models import Invoice, InvoiceKind, InvoiceStatus
from invoicing.payments import selectors
from invoicing.payments.models import (
    BankStatementLine,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    PaymentReturn,
    Refund,
    ReturnReason,
)
from subscribers.models import BillingAccount

ZERO = Decimal("0.00")


def _user(acting_user):
    return acting_user if acting_user is not None and acting_user.is_authenticated else None


def _lock_account(billing_account_id: int) -> BillingAccount:
    return (
        BillingAccount.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=billing_account_id)
    )


def money_amount(value, currency: str, *, field: str = "amount") -> Decimal:
    """Check a written amount: a positive decimal at most at the currency's minor unit."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as error:
        raise ValidationError({field: "a decimal amount, e.g. 19.99"}) from error
    if not amount.is_finite() or amount <= 0:
        raise ValidationError({field: "a positive amount"})
    if quantize_minor(amount, currency) != amount:
        raise ValidationError({field: f"at most the minor unit of {currency}"})
    return quantize_minor(amount, currency)


# --- the invoice's state follows the money ----------------------------------------------------


def invoice_payment_state_refresh(*, invoice_ids) -> list[int]:
    """Set the state of invoices from their amount due; return those that became paid.

    Nothing left to pay: paid. Part paid: partially paid, but an overdue invoice stays overdue
    until it is paid in full. Nothing paid (a refund or a returned direct debit took it back):
    issued again, or overdue if it was. Drafts, void invoices and other documents are left
    alone. Call it inside the transaction that changed the money.
    """
    ids = sorted(set(invoice_ids))
    if not ids:
        return []
    invoices = selectors.invoices_with_amount_due(
        Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=ids, kind=InvoiceKind.INVOICE, status__in=selectors.PAYABLE_STATUSES)
        .order_by("pk")
    )
    became_paid = []
    for invoice in invoices:
        payable = invoice.gross_total - invoice.amount_credited
        due = invoice.amount_due
        if due <= 0:
            status = InvoiceStatus.PAID
        elif invoice.status == InvoiceStatus.OVERDUE:
            status = InvoiceStatus.OVERDUE  # partly paid, still overdue until paid in full
        elif invoice.status == InvoiceStatus.PAID and _was_overdue(invoice):
            status = InvoiceStatus.OVERDUE  # reopened: it was overdue before it was paid
        elif due < payable:
            status = InvoiceStatus.PARTIALLY_PAID
        else:
            status = InvoiceStatus.ISSUED
        if status != invoice.status:
            invoice.status = status
            invoice.save(update_fields=["status", "updated_at"])  # audited (simple-history)
            if status == InvoiceStatus.PAID:
                became_paid.append(invoice.pk)
    if became_paid:
        on_invoices_paid(became_paid)
    return became_paid


def _was_overdue(invoice: Invoice) -> bool:
    """Whether an invoice reopened after being paid was overdue before (its audit trail)."""
    return invoice.history.filter(status=InvoiceStatus.OVERDUE).exists()


def on_invoices_paid(invoice_ids: list[int]) -> None:
    """React to invoices that became paid, in the transaction that paid them.

    The one hook point of "an invoice is paid": today it publishes ``invoice.paid`` through the
    outbox, and once committed closes their dunning and lifts the barring it imposed (R30).
    """
    for invoice in (
        Invoice.objects.filter(pk__in=invoice_ids).select_related("billing_account", "brand")
    ).order_by("pk"):
        publish(
            event_type="invoice.paid",
            payload={
                "id": invoice.pk,
                "number": invoice.number,
                "billingAccount": {
                    "id": invoice.billing_account_id,
                    "number": invoice.billing_account.number,
                },
                "currency": invoice.currency,
                "gross": invoice.gross_total,
            },
            brand=invoice.brand,
            subject=invoice.number,
        )
    ids = list(invoice_ids)

    def settle_dunning():
        # The dunning of a paid invoice closes and the barring it imposed is lifted (R30), in
        # the dunning's own transactions once the payment is committed.
        from invoicing.dunning import dunning_invoices_settled

        dunning_invoices_settled(invoice_ids=ids)

    transaction.on_commit(settle_dunning)


# --- allocation -------------------------------------------------------------------------------


def _allocate(
    *, payments: list[Payment], invoices: list[Invoice], user, reason: str
) -> list[PaymentAllocation]:
    """Spread payments' remaining money over invoices in the order given (both annotated)."""
    allocations = []
    remaining = {payment.pk: payment.remaining for payment in payments}
    due = {invoice.pk: invoice.amount_due for invoice in invoices}
    for invoice in invoices:
        for payment in payments:
            if due[invoice.pk] <= 0:
                break
            if remaining[payment.pk] <= 0 or payment.currency != invoice.currency:
                continue
            part = min(remaining[payment.pk], due[invoice.pk])
            allocations.append(
                PaymentAllocation(
                    payment=payment, invoice=invoice, amount=part, reason=reason, created_by=user
                )
            )
            remaining[payment.pk] -= part
            due[invoice.pk] -= part
    PaymentAllocation.objects.bulk_create(allocations)
    return allocations


def _invoices_to_pay(account: BillingAccount, currency: str, invoice_ids) -> list[Invoice]:
    """The open invoices to allocate to: those named, in their order, then the rest oldest
    first."""
    open_invoices = list(selectors.open_invoices(billing_account_id=account.pk, currency=currency))
    if not invoice_ids:
        return open_invoices
    by_id = {invoice.pk: invoice for invoice in open_invoices}
    named = []
    for pk in invoice_ids:
        if pk not in by_id:
            invoice = Invoice.objects.filter(pk=pk).first()
            if invoice is None or invoice.billing_account_id != account.pk:
                raise ValidationError({"invoices": f"invoice {pk} is not of account {account}"})
            if invoice.currency != currency:
                raise ValidationError({"invoices": f"{invoice} is in {invoice.currency}"})
            raise ValidationError({"invoices": f"{invoice} has nothing left to pay"})
        if by_id[pk] not in named:
            named.append(by_id[pk])
    return named


def payment_allocate(*, payment: Payment, invoice_ids=None, acting_user=None) -> list:
    """Allocate what a payment still holds: to the named invoices in their order, or to the
    account's open invoices oldest first. What is left stays as credit on the account."""
    with transaction.atomic():
        account = _lock_account(payment.billing_account_id)
        payment = selectors.payments_with_remaining(Payment.objects.filter(pk=payment.pk)).get()
        if payment.remaining <= 0:
            raise ValidationError({"payment": "the payment has nothing left to allocate"})
        invoices = _invoices_to_pay(account, payment.currency, invoice_ids)
        reason = "as the payer named" if invoice_ids else "oldest invoice first"
        allocations = _allocate(
            payments=[payment], invoices=invoices, user=_user(acting_user), reason=reason
        )
        invoice_payment_state_refresh(invoice_ids=[a.invoice_id for a in allocations])
    return allocations


def account_credit_apply(*, billing_account_ids, acting_user=None) -> int:
    """Use accounts' unallocated credit on their open invoices, oldest payment on oldest
    invoice first; return how many allocations were made."""
    made = 0
    for account_id in sorted(set(billing_account_ids)):
        with transaction.atomic():
            account = _lock_account(account_id)
            for currency in selectors.account_credit(billing_account_id=account.pk):
                payments = list(
                    selectors.payments_with_credit(billing_account_id=account.pk, currency=currency)
                )
                invoices = list(
                    selectors.open_invoices(billing_account_id=account.pk, currency=currency)
                )
                if not payments or not invoices:
                    continue
                allocations = _allocate(
                    payments=payments, invoices=invoices, user=_user(acting_user),
                    reason="credit on the account",
                )  # fmt: skip
                invoice_payment_state_refresh(invoice_ids=[a.invoice_id for a in allocations])
                made += len(allocations)
    return made


def issued_invoices_credit_apply(*, invoice_ids) -> int:
    """Use the credit of the accounts of newly issued invoices (one query when none has any)."""
    account_ids = set(
        Invoice.objects.filter(pk__in=list(invoice_ids), kind=InvoiceKind.INVOICE).values_list(
            "billing_account_id", flat=True
        )
    )
    holders = selectors.accounts_with_credit(billing_account_ids=account_ids)
    return account_credit_apply(billing_account_ids=holders) if holders else 0


# --- recording --------------------------------------------------------------------------------


def payment_record(
    *,
    billing_account: BillingAccount,
    amount,
    currency: str,
    method: str,
    received_on: dt.date,
    reference: str = "",
    external_id: str = "",
    payer_name: str = "",
    payer_iban: str = "",
    invoice_ids=None,
    note: str = "",
    statement_line: BankStatementLine | None = None,
    acting_user=None,
) -> Payment:
    """Record money received from an account and allocate it (the named invoices, else the
    oldest first); what is left stays as unallocated credit. Publishes ``payment.received``."""
    if method not in PaymentMethod.values:
        raise ValidationError({"method": f"one of {', '.join(PaymentMethod.values)}"})
    currency = (currency or "").upper()
    if currency != billing_account.currency:
        raise ValidationError(
            {"currency": f"the account is in {billing_account.currency}, not {currency}"}
        )
    amount = money_amount(amount, currency)
    if not isinstance(received_on, dt.date):
        raise ValidationError({"received_on": "a date"})
    if received_on > timezone.localdate() + dt.timedelta(days=1):
        raise ValidationError({"received_on": "a payment is not received in the future"})
    user = _user(acting_user)
    with transaction.atomic():
        account = _lock_account(billing_account.pk)
        external_id = (external_id or "").strip()[:100]
        brand_id = account.customer.brand_id
        if (
            external_id
            and Payment.objects.filter(brand_id=brand_id, external_id=external_id).exists()
        ):
            raise ValidationError(
                {"external_id": "a payment with this gateway id was recorded already"}
            )
        if invoice_ids:
            _invoices_to_pay(account, currency, invoice_ids)  # refuse a wrong invoice first
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    brand_id=account.customer.brand_id,
                    billing_account=account,
                    method=method,
                    currency=currency,
                    amount=amount,
                    received_on=received_on,
                    reference=(reference or "")[:300],
                    external_id=external_id,
                    payer_name=(payer_name or "")[:200],
                    payer_iban=(payer_iban or "").replace(" ", "")[:34],
                    note=(note or "")[:300],
                    statement_line=statement_line,
                    created_by=user,
                )
        except IntegrityError as error:
            raise ValidationError(
                {"external_id": "a payment with this gateway id was recorded already"}
            ) from error
        payment = selectors.payments_with_remaining(Payment.objects.filter(pk=payment.pk)).get()
        invoices = _invoices_to_pay(account, currency, invoice_ids)
        reason = "as the payer named" if invoice_ids else "oldest invoice first"
        if invoice_ids:  # what the named invoices do not take goes to the oldest others
            others = [
                invoice
                for invoice in selectors.open_invoices(billing_account_id=account.pk,
                                                       currency=currency)
                if invoice.pk not in {i.pk for i in invoices}
            ]  # fmt: skip
            invoices += others
        allocations = _allocate(payments=[payment], invoices=invoices, user=user, reason=reason)
        invoice_payment_state_refresh(invoice_ids=[a.invoice_id for a in allocations])
        _payment_event("payment.received", payment, allocations)
    return payment


def _payment_event(event_type: str, payment: Payment, allocations, **extra) -> None:
    publish(
        event_type=event_type,
        payload={
            "id": payment.pk,
            "billingAccount": {
                "id": payment.billing_account_id,
                "number": payment.billing_account.number,
            },
            "method": payment.method,
            "currency": payment.currency,
            "amount": payment.amount,
            "receivedOn": payment.received_on,
            "reference": payment.reference,
            "allocations": [{"invoice": a.invoice.number, "amount": a.amount} for a in allocations],
            **extra,
        },
        brand=payment.brand,
        subject=f"payment {payment.pk}",
    )


# --- taking money back: refunds and returns ----------------------------------------------------


def _deallocate(payment: Payment, amount: Decimal, user, reason: str) -> list[PaymentAllocation]:
    """Take back up to ``amount`` of a payment's allocations, newest invoice first (negative
    rows)."""
    net: dict[int, Decimal] = {}
    for allocation in payment.allocations.order_by("pk"):
        net[allocation.invoice_id] = net.get(allocation.invoice_id, ZERO) + allocation.amount
    reversals = []
    for invoice_id in sorted(net, reverse=True):
        if amount <= 0:
            break
        part = min(net[invoice_id], amount)
        if part <= 0:
            continue
        reversals.append(
            PaymentAllocation(
                payment=payment,
                invoice_id=invoice_id,
                amount=-part,
                reason=reason,
                created_by=user,
            )  # fmt: skip
        )
        amount -= part
    PaymentAllocation.objects.bulk_create(reversals)
    return reversals


def refund_create(
    *,
    payment: Payment,
    amount,
    reason: str,
    refunded_on: dt.date | None = None,
    external_id: str = "",
    acting_user=None,
) -> Refund:
    """Pay back part or all of a payment: first from what it holds unallocated, then by taking
    it back from the invoices it paid (newest first), which reopens them. Publishes
    ``payment.refunded``."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a refund says why"})
    amount = money_amount(amount, payment.currency)
    user = _user(acting_user)
    with transaction.atomic():
        _lock_account(payment.billing_account_id)
        payment = selectors.payments_with_remaining(
            Payment.objects.filter(pk=payment.pk).select_related("billing_account", "brand")
        ).get()
        if payment.returned_amount > 0:
            raise ValidationError({"payment": "the payment was returned: nothing to refund"})
        refundable = payment.amount - payment.refunded
        if amount > refundable:
            raise ValidationError(
                {"amount": f"at most {refundable} {payment.currency} of this payment is left"}
            )
        reversals = []
        if amount > payment.remaining:
            reversals = _deallocate(payment, amount - payment.remaining, user, f"refund: {reason}")
        refund = Refund.objects.create(
            payment=payment, amount=amount, reason=reason[:300],
            refunded_on=refunded_on or timezone.localdate(), external_id=external_id[:100],
            created_by=user,
        )  # fmt: skip
        invoice_payment_state_refresh(invoice_ids=[r.invoice_id for r in reversals])
        _payment_event(
            "payment.refunded", payment, [],
            refund={"id": refund.pk, "amount": refund.amount, "reason": refund.reason},
        )  # fmt: skip
    return refund


def account_credit_refund(
    *, billing_account: BillingAccount, amount, reason: str, acting_user=None
) -> list[Refund]:
    """Pay back an account's unallocated credit, drawn from its payments oldest first (one
    refund row per payment drawn on); invoices are not touched."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a refund says why"})
    amount = money_amount(amount, billing_account.currency)
    with transaction.atomic():
        _lock_account(billing_account.pk)
        payments = list(
            selectors.payments_with_credit(
                billing_account_id=billing_account.pk, currency=billing_account.currency
            ).select_related("billing_account", "brand")
        )
        credit = sum((p.remaining for p in payments), ZERO)
        if amount > credit:
            raise ValidationError(
                {"amount": f"the account holds {credit} {billing_account.currency} of credit"}
            )
        refunds = []
        for payment in payments:
            if amount <= 0:
                break
            part = min(payment.remaining, amount)
            refunds.append(
                refund_create(payment=payment, amount=part, reason=reason, acting_user=acting_user)
            )
            amount -= part
    return refunds


def payment_return(
    *,
    payment: Payment,
    reason_code: str,
    returned_on: dt.date | None = None,
    statement_line: BankStatementLine | None = None,
    acting_user=None,
) -> PaymentReturn:
    """Record that a payment came back (a SEPA R-transaction) with its reason code: its
    allocations are reversed and the invoices reopen. Publishes ``payment.returned``."""
    if reason_code not in ReturnReason.values:
        raise ValidationError({"reason_code": f"one of {', '.join(ReturnReason.values)}"})
    user = _user(acting_user)
    with transaction.atomic():
        _lock_account(payment.billing_account_id)
        payment = selectors.payments_with_remaining(
            Payment.objects.filter(pk=payment.pk).select_related("billing_account", "brand")
        ).get()
        if payment.returned_amount > 0:
            raise ValidationError({"payment": "the payment was returned already"})
        amount = payment.amount - payment.refunded
        if amount <= 0:
            raise ValidationError({"payment": "the payment was refunded in full"})
        reversals = _deallocate(payment, payment.allocated, user, f"returned ({reason_code})")
        returned = PaymentReturn.objects.create(
            payment=payment, amount=amount, reason_code=reason_code,
            returned_on=returned_on or timezone.localdate(), statement_line=statement_line,
            created_by=user,
        )  # fmt: skip
        invoice_payment_state_refresh(invoice_ids=[r.invoice_id for r in reversals])
        _payment_event(
            "payment.returned", payment, [],
            reasonCode=reason_code, returnedAmount=amount,
            reopened=[r.invoice.number for r in reversals],
        )  # fmt: skip
    return returned


def invoice_allocations_release(*, invoice: Invoice, acting_user=None) -> list:
    """Take back every payment allocated to a voided invoice: the money becomes credit on the
    account (negative rows), then goes to the account's other open invoices oldest first."""
    user = _user(acting_user)
    with transaction.atomic():
        _lock_account(invoice.billing_account_id)
        net: dict[int, Decimal] = {}
        for allocation in PaymentAllocation.objects.filter(invoice=invoice).order_by("pk"):
            net[allocation.payment_id] = net.get(allocation.payment_id, ZERO) + allocation.amount
        reversals = [
            PaymentAllocation(
                payment_id=payment_id,
                invoice=invoice,
                amount=-amount,
                reason="the invoice was voided",
                created_by=user,
            )  # fmt: skip
            for payment_id, amount in sorted(net.items())
            if amount > 0
        ]
        PaymentAllocation.objects.bulk_create(reversals)
    if reversals:
        account_credit_apply(billing_account_ids=[invoice.billing_account_id])
    return reversals
