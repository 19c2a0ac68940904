"""SEPA direct debit: mandates of billing accounts and the pain.008 collection file of a bill
run's invoices (with the ``sepaxml`` library, validated against the pain.008.001.08 schema it
ships).

Collecting records one pending direct debit payment per invoice, allocated at once (the invoice
shows paid); a return (R-transaction) reverses it and reopens the invoice
(``invoicing.payments.services.payment_return``).
"""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from stdnum import iban as iban_number
from stdnum.eu import at_02 as sepa_creditor

from invoicing.models import BillRun, InvoiceKind, InvoiceProfile
from invoicing.payments import selectors
from invoicing.payments.models import (
    Payment,
    PaymentAllocation,
    PaymentMethod,
    SepaCollection,
    SepaMandate,
)
from invoicing.payments.services import _payment_event, _user, invoice_payment_state_refresh
from subscribers.models import BillingAccount

SCHEMA = "pain.008.001.08"
LEAD_DAYS = 2


def sepa_mandate_create(
    *, billing_account: BillingAccount, reference: str, debtor_name: str, iban: str,
    bic: str = "", signed_on: dt.date, acting_user=None,
) -> SepaMandate:  # fmt: skip
    """Record a signed SEPA mandate of an account; it replaces the account's active one."""
    errors = {}
    reference = (reference or "").strip()
    if not reference or len(reference) > 35:
        errors["reference"] = "the mandate reference has 1 to 35 characters"
    compact = iban_number.compact(iban or "")
    if not iban_number.is_valid(compact):
        errors["iban"] = "not a valid IBAN"
    bic = (bic or "").strip().upper()
    if bic and len(bic) not in (8, 11):
        errors["bic"] = "a BIC has 8 or 11 characters"
    if not (debtor_name or "").strip():
        errors["debtor_name"] = "the account holder's name"
    if not isinstance(signed_on, dt.date) or signed_on > timezone.localdate():
        errors["signed_on"] = "the date the mandate was signed (not in the future)"
    if billing_account.currency != "EUR":
        errors["billing_account"] = "SEPA direct debits collect euros only"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        BillingAccount.objects.select_for_update().get(pk=billing_account.pk)
        for active in SepaMandate.objects.filter(
            billing_account=billing_account, revoked_on__isnull=True
        ):
            active.revoked_on = timezone.localdate()
            active.revoke_reason = f"replaced by mandate {reference}"
            active.save(update_fields=["revoked_on", "revoke_reason"])
        try:
            with transaction.atomic():
                mandate = SepaMandate.objects.create(
                    brand_id=billing_account.customer.brand_id, billing_account=billing_account,
                    reference=reference, debtor_name=debtor_name.strip()[:70], iban=compact,
                    bic=bic, signed_on=signed_on,
                )  # fmt: skip
        except IntegrityError as error:
            raise ValidationError({"reference": "this mandate reference is taken"}) from error
    return mandate


def sepa_mandate_revoke(*, mandate: SepaMandate, reason: str, acting_user=None) -> SepaMandate:
    """Revoke a mandate: it is no longer collected."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "say why the mandate ends"})
    with transaction.atomic():
        mandate = SepaMandate.objects.select_for_update().get(pk=mandate.pk)
        if mandate.revoked_on:
            raise ValidationError({"status": "the mandate was revoked already"})
        mandate.revoked_on = timezone.localdate()
        mandate.revoke_reason = reason[:300]
        mandate.save(update_fields=["revoked_on", "revoke_reason"])
    return mandate


def creditor_of(brand) -> tuple[InvoiceProfile, str]:
    """Return the brand's invoice profile and SEPA creditor id, or say what is missing."""
    profile = InvoiceProfile.objects.filter(brand=brand).first()
    creditor_id = (profile.sepa_creditor_id if profile else "") or getattr(
        settings, "SEPA_CREDITOR_ID", ""
    )
    errors = {}
    if profile is None or not profile.iban:
        errors["bill_run"] = "the brand's invoice profile has no IBAN to collect to"
    if not creditor_id or not sepa_creditor.is_valid(creditor_id):
        errors["creditor_id"] = "no valid SEPA creditor id (invoice profile or SEPA_CREDITOR_ID)"
    if errors:
        raise ValidationError(errors)
    return profile, sepa_creditor.compact(creditor_id)


def sepa_collection_create(
    *, bill_run: BillRun, collection_date: dt.date | None = None, acting_user=None
) -> SepaCollection:
    """Make the pain.008 direct debit file of a run's issued invoices whose accounts have an
    active mandate, and record their payments (pending until returned). A run has one
    collection: asking again returns it."""
    from sepaxml import SepaDD

    existing = SepaCollection.objects.filter(bill_run=bill_run).first()
    if existing is not None:
        return existing
    today = timezone.localdate()
    collection_date = collection_date or today + dt.timedelta(days=LEAD_DAYS)
    if collection_date <= today:
        raise ValidationError({"collection_date": "a collection date after today"})
    brand = bill_run.cycle.brand
    profile, creditor_id = creditor_of(brand)
    user = _user(acting_user)
    with transaction.atomic():
        run = BillRun.objects.select_for_update().get(pk=bill_run.pk)
        if SepaCollection.objects.filter(bill_run=run).exists():
            return SepaCollection.objects.get(bill_run=run)
        account_ids = sorted(
            set(
                run.invoices.filter(kind=InvoiceKind.INVOICE).values_list(
                    "billing_account_id", flat=True
                )
            )
        )
        list(BillingAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk"))
        mandates = {
            mandate.billing_account_id: mandate
            for mandate in SepaMandate.objects.filter(
                billing_account_id__in=account_ids, revoked_on__isnull=True,
                signed_on__lte=collection_date,
            ).select_for_update()
        }  # fmt: skip
        invoices = list(
            selectors.invoices_with_amount_due(
                run.invoices.filter(
                    kind=InvoiceKind.INVOICE, status__in=selectors.OPEN_STATUSES,
                    currency="EUR", billing_account_id__in=list(mandates),
                )
            ).filter(amount_due__gt=0).select_related("billing_account").order_by("pk")
        )  # fmt: skip
        if not invoices:
            raise ValidationError(
                {"bill_run": "no issued EUR invoice of this run is left to pay by an account "
                             "with an active mandate"}
            )  # fmt: skip
        message_id = f"DD-{run.pk}-{timezone.now():%Y%m%d%H%M%S}"[:35]
        sepa = SepaDD(
            {
                "name": profile.legal_name[:70], "IBAN": profile.iban.replace(" ", ""),
                "BIC": profile.bic or "NOTPROVIDED", "batch": True,
                "creditor_id": creditor_id, "currency": "EUR",
            },
            schema=SCHEMA,
        )  # fmt: skip
        sepa._xml.find("CstmrDrctDbtInitn/GrpHdr/MsgId").text = message_id
        payments = []
        for invoice in invoices:
            mandate = mandates[invoice.billing_account_id]
            end_to_end = f"{invoice.number}"[:35]
            entry = {
                "name": mandate.debtor_name, "IBAN": mandate.iban,
                "amount": int(invoice.amount_due * 100), "type": mandate.sequence,
                "collection_date": collection_date, "mandate_id": mandate.reference,
                "mandate_date": mandate.signed_on,
                "description": f"Invoice {invoice.number}", "endtoend_id": end_to_end,
            }  # fmt: skip
            if mandate.bic:
                entry["BIC"] = mandate.bic
            sepa.add_payment(entry)
            payments.append(
                Payment(
                    brand=brand,
                    billing_account=invoice.billing_account,
                    method=PaymentMethod.DIRECT_DEBIT,
                    currency="EUR",
                    amount=invoice.amount_due,
                    received_on=collection_date,
                    reference=f"Invoice {invoice.number}",
                    payer_name=mandate.debtor_name,
                    payer_iban=mandate.iban,
                    mandate=mandate,
                    end_to_end_id=end_to_end,
                    note=f"direct debit {message_id}",
                    created_by=user,
                )  # fmt: skip
            )
        xml = sepa.export(validate=True).decode("utf-8")
        collection = SepaCollection.objects.create(
            brand=brand, bill_run=run, message_id=message_id, collection_date=collection_date,
            payments_count=len(payments), total=sum(p.amount for p in payments), xml=xml,
            created_by=user,
        )  # fmt: skip
        for payment in payments:
            payment.collection = collection
        written = Payment.objects.bulk_create(payments)
        allocations = PaymentAllocation.objects.bulk_create(
            PaymentAllocation(
                payment=payment,
                invoice=invoice,
                amount=payment.amount,
                reason="direct debit",
                created_by=user,
            )  # fmt: skip
            for payment, invoice in zip(written, invoices, strict=True)
        )
        SepaMandate.objects.filter(
            pk__in=[m.pk for m in mandates.values()], first_collected_on__isnull=True
        ).update(first_collected_on=collection_date)
        invoice_payment_state_refresh(invoice_ids=[invoice.pk for invoice in invoices])
        for payment, allocation in zip(written, allocations, strict=True):
            _payment_event("payment.received", payment, [allocation])
    return collection
