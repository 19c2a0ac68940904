"""Bank statement import: a CAMT.053 or MT940 file read into lines, each credit matched to a
billing account and its invoices and recorded as a payment, each direct debit return recorded
against its payment, the rest left in a queue for finance.

Matching, in this order (docs/payments.md):

1. invoice numbers in the remittance information: the payment goes to their account and pays
   them in the order named (the rest oldest first, then credit);
2. a billing account or customer number in the remittance information: oldest invoice first;
3. the payer's IBAN, when it paid exactly one account before (a matched payment or a mandate).

A debit that quotes the end-to-end id of one of our direct debits is a return (R-transaction).
Anything else waits in the queue: finance matches it by hand or discards it with a reason.
"""

import hashlib
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoicing.models import Invoice, InvoiceKind, InvoiceProfile
from invoicing.payments import selectors
from invoicing.payments.models import (
    BankStatement,
    BankStatementLine,
    LineStatus,
    Payment,
    PaymentMethod,
    ReturnReason,
    SepaMandate,
)
from invoicing.payments.services import _user, payment_record, payment_return
from invoicing.payments.statements import ParsedLine, StatementError, statement_parse
from subscribers.models import BillingAccount

MAX_STATEMENT_BYTES = 20 * 1024 * 1024
INVOICE_NUMBER_RE = re.compile(r"\b[A-Z]{2,8}-\d{4}-\d{3,10}\b")
WORD_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,40}")


def bank_statement_import(*, brand, name: str, content: bytes, acting_user=None) -> BankStatement:
    """Import a statement file once (a second import of the same file is refused) and match
    its lines; return the statement with its counts."""
    if not content:
        raise ValidationError({"file": "the file is empty"})
    if len(content) > MAX_STATEMENT_BYTES:
        raise ValidationError({"file": "a statement file is at most 20 MB"})
    try:
        parsed = statement_parse(content)
    except StatementError as error:
        raise ValidationError({"file": str(error)}) from error
    digest = hashlib.sha256(content).hexdigest()
    previous = BankStatement.objects.filter(brand=brand, sha256=digest).first()
    if previous is not None:
        raise ValidationError(
            {"file": f"this file was imported already on {previous.imported_at:%Y-%m-%d} "
                     f"(statement {previous.pk})"}
        )  # fmt: skip
    profile = InvoiceProfile.objects.filter(brand=brand).first()
    own_iban = (profile.iban if profile else "").replace(" ", "")
    if own_iban and parsed.account_iban and parsed.account_iban != own_iban:
        raise ValidationError(
            {"file": f"the statement is of account {parsed.account_iban}, not of the brand's "
                     f"bank account {own_iban}"}
        )  # fmt: skip
    user = _user(acting_user)
    with transaction.atomic():
        try:
            with transaction.atomic():
                statement = BankStatement.objects.create(
                    brand=brand, format=parsed.format, file_name=(name or "statement")[:200],
                    sha256=digest, statement_id=parsed.statement_id[:100],
                    account_iban=parsed.account_iban[:34], currency=parsed.currency[:3],
                    lines_total=len(parsed.lines), imported_by=user,
                )  # fmt: skip
        except IntegrityError as error:
            raise ValidationError(
                {"file": f"statement {parsed.statement_id} of {parsed.account_iban} was "
                         "imported already"}
            ) from error  # fmt: skip
        lines = BankStatementLine.objects.bulk_create(
            _line(statement, position, parsed_line)
            for position, parsed_line in enumerate(parsed.lines, start=1)
        )
        matched = sum(1 for line in lines if _match(line, brand, acting_user))
        statement.lines_matched = matched
        statement.save(update_fields=["lines_matched"])
    return statement


def _line(statement, position: int, parsed: ParsedLine) -> BankStatementLine:
    return BankStatementLine(
        statement=statement,
        position=position,
        booking_date=parsed.booking_date,
        value_date=parsed.value_date,
        amount=parsed.amount,
        currency=parsed.currency[:3],
        counterparty_name=parsed.counterparty_name[:200],
        counterparty_iban=parsed.counterparty_iban.replace(" ", "")[:34],
        remittance=parsed.remittance[:500],
        end_to_end_id=parsed.end_to_end_id[:100],
        bank_reference=parsed.bank_reference[:100],
        return_reason=parsed.return_reason[:4],
        status=LineStatus.UNMATCHED,
    )


def _match(line: BankStatementLine, brand, acting_user) -> bool:
    """Match one line (a payment or a return) or leave it in the queue with a note."""
    if line.amount < 0:
        return _match_return(line, brand, acting_user)
    account, invoice_ids, note = line_candidate(line=line, brand=brand)
    if account is None:
        _leave(line, note)
        return False
    try:
        with transaction.atomic():
            payment_record(
                billing_account=account, amount=line.amount, currency=line.currency,
                method=PaymentMethod.BANK_TRANSFER, received_on=line.value_date,
                reference=line.remittance, payer_name=line.counterparty_name,
                payer_iban=line.counterparty_iban, invoice_ids=invoice_ids,
                external_id=_external_id(line), statement_line=line, acting_user=acting_user,
            )  # fmt: skip
    except ValidationError as error:
        _leave(line, f"{note}; not recorded: {'; '.join(error.messages)}")
        return False
    _resolve(line, LineStatus.MATCHED, note, acting_user)
    return True


def _external_id(line: BankStatementLine) -> str:
    return f"bank:{line.bank_reference}" if line.bank_reference else ""


def line_candidate(*, line: BankStatementLine, brand):
    """Return (account, invoice ids, why) for a credit line, or (None, None, why not)."""
    text = line.remittance or ""
    numbers = list(dict.fromkeys(INVOICE_NUMBER_RE.findall(text.upper())))
    if numbers:
        invoices = list(
            Invoice.objects.filter(brand=brand, kind=InvoiceKind.INVOICE, number__in=numbers)
            .select_related("billing_account")
            .order_by("pk")
        )
        accounts = {invoice.billing_account_id for invoice in invoices}
        if len(accounts) == 1:
            by_number = {invoice.number: invoice for invoice in invoices}
            named = [by_number[n] for n in numbers if n in by_number]
            open_ids = set(
                selectors.open_invoices(
                    billing_account_id=named[0].billing_account_id, currency=line.currency
                ).values_list("pk", flat=True)
            )
            ids = [invoice.pk for invoice in named if invoice.pk in open_ids]
            return (
                named[0].billing_account,
                ids,
                f"invoice number {', '.join(i.number for i in named)} in the reference",
            )
        if len(accounts) > 1:
            return None, None, "the reference names invoices of several accounts"
    words = {word.upper() for word in WORD_RE.findall(text)}
    if words:
        accounts = list(
            BillingAccount.objects.filter(customer__brand=brand, number__in=words)
        ) or list(
            BillingAccount.objects.filter(
                customer__brand=brand, customer__number__in=words, invoice_to_parent=False,
                currency=line.currency,
            )
        )  # fmt: skip
        if len(accounts) == 1:
            return accounts[0], None, f"customer reference {accounts[0].number} in the reference"
        if len(accounts) > 1:
            return None, None, "the reference names several accounts"
    if line.counterparty_iban:
        paid_before = set(
            Payment.objects.filter(brand=brand, payer_iban=line.counterparty_iban).values_list(
                "billing_account_id", flat=True
            )
        ) | set(
            SepaMandate.objects.filter(brand=brand, iban=line.counterparty_iban).values_list(
                "billing_account_id", flat=True
            )
        )
        if len(paid_before) == 1:
            account = BillingAccount.objects.get(pk=paid_before.pop())
            return account, None, f"the payer's IBAN paid account {account.number} before"
    return None, None, "no invoice number, customer reference or known IBAN"


def _match_return(line: BankStatementLine, brand, acting_user) -> bool:
    if not line.end_to_end_id:
        _leave(line, "a debit: no end-to-end id of a direct debit")
        return False
    payment = Payment.objects.filter(
        brand=brand, end_to_end_id=line.end_to_end_id, method=PaymentMethod.DIRECT_DEBIT
    ).first()
    if payment is None:
        _leave(line, f"a debit: no direct debit {line.end_to_end_id}")
        return False
    code = line.return_reason if line.return_reason in ReturnReason.values else "MS03"
    try:
        with transaction.atomic():
            payment_return(
                payment=payment, reason_code=code, returned_on=line.booking_date,
                statement_line=line, acting_user=acting_user,
            )  # fmt: skip
    except ValidationError as error:
        _leave(line, f"return of payment {payment.pk} not recorded: {'; '.join(error.messages)}")
        return False
    _resolve(line, LineStatus.RETURN, f"return ({code}) of direct debit payment {payment.pk}",
             acting_user)  # fmt: skip
    return True


def _leave(line: BankStatementLine, note: str) -> None:
    line.match_note = note[:300]
    line.save(update_fields=["match_note"])


def _resolve(line: BankStatementLine, status: str, note: str, acting_user) -> None:
    line.status = status
    line.match_note = note[:300]
    line.resolved_at = timezone.now()
    line.resolved_by = _user(acting_user)
    line.save(update_fields=["status", "match_note", "resolved_at", "resolved_by"])


def _lock_line(line: BankStatementLine) -> BankStatementLine:
    line = BankStatementLine.objects.select_for_update().select_related("statement").get(pk=line.pk)
    if line.status != LineStatus.UNMATCHED:
        raise ValidationError({"status": f"the line is {line.get_status_display()} already"})
    return line


def statement_line_match(
    *, line: BankStatementLine, billing_account: BillingAccount, invoice_ids=None,
    acting_user=None,
) -> Payment:  # fmt: skip
    """Match a waiting credit line by hand: record it as a payment of the account (the named
    invoices, else oldest first)."""
    with transaction.atomic():
        line = _lock_line(line)
        if line.amount <= 0:
            raise ValidationError({"line": "only a credit is recorded as a payment; discard it"})
        if billing_account.customer.brand_id != line.statement.brand_id:
            raise ValidationError({"billing_account": "the account is of another brand"})
        payment = payment_record(
            billing_account=billing_account, amount=line.amount, currency=line.currency,
            method=PaymentMethod.BANK_TRANSFER, received_on=line.value_date,
            reference=line.remittance, payer_name=line.counterparty_name,
            payer_iban=line.counterparty_iban, invoice_ids=invoice_ids,
            external_id=_external_id(line), statement_line=line, acting_user=acting_user,
        )  # fmt: skip
        _resolve(line, LineStatus.MATCHED, f"matched by hand to {billing_account.number}",
                 acting_user)  # fmt: skip
        BankStatement.objects.filter(pk=line.statement_id).update(
            lines_matched=line.statement.lines_matched + 1
        )
    return payment


def statement_line_discard(*, line: BankStatementLine, reason: str, acting_user=None):
    """Take a waiting line out of the queue, saying why (a bank fee, not ours, sent back)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "a discarded line says why"})
    with transaction.atomic():
        line = _lock_line(line)
        line.discard_reason = reason[:300]
        line.save(update_fields=["discard_reason"])
        _resolve(line, LineStatus.DISCARDED, "discarded by hand", acting_user)
    return line
