"""Payments: recording, allocation oldest first or as named, credit, refunds, returns, and the
invoice states that follow the money (issue 15, item 5)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from core.models import OutboxEvent
from invoicing import services as invoicing_services
from invoicing.models import Invoice, InvoiceStatus
from invoicing.payments import selectors, services
from invoicing.payments.models import PaymentAllocation, PaymentMethod
from tests.invoicing.builders import account_add, world_build
from tests.invoicing.payment_builders import invoice_issued_add

NOW = "2026-11-20 10:00:00+01:00"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def account(db):
    world = world_build()
    return account_add(world, name="Anna")


def pay(account, amount: str, **extra):
    return services.payment_record(
        billing_account=account, amount=Decimal(amount), currency="EUR",
        method=PaymentMethod.BANK_TRANSFER, received_on=dt.date(2026, 11, 18), **extra,
    )  # fmt: skip


def due(invoice) -> Decimal:
    return selectors.invoice_amount_due(invoice=Invoice.objects.get(pk=invoice.pk))


def status(invoice) -> str:
    return Invoice.objects.get(pk=invoice.pk).status


def test_a_payment_pays_the_oldest_invoice_first_and_keeps_the_rest_as_credit(account):
    old = invoice_issued_add(account, gross="30.00", number="INV-2026-000001",
                             issued_on=dt.date(2026, 9, 2))  # fmt: skip
    new = invoice_issued_add(account, gross="40.50", number="INV-2026-000002",
                             issued_on=dt.date(2026, 10, 2))  # fmt: skip
    pay(account, "50.00")
    assert (status(old), due(old)) == (InvoiceStatus.PAID, Decimal("0.00"))
    assert (status(new), due(new)) == (InvoiceStatus.PARTIALLY_PAID, Decimal("20.50"))
    assert selectors.account_credit(billing_account_id=account.pk) == {}
    pay(account, "25.00")
    assert status(new) == InvoiceStatus.PAID
    assert selectors.account_credit(billing_account_id=account.pk) == {"EUR": Decimal("4.50")}


def test_a_payment_pays_the_invoices_the_payer_names_first(account):
    old = invoice_issued_add(account, gross="30.00", number="INV-2026-000001",
                             issued_on=dt.date(2026, 9, 2))  # fmt: skip
    new = invoice_issued_add(account, gross="40.50", number="INV-2026-000002",
                             issued_on=dt.date(2026, 10, 2))  # fmt: skip
    pay(account, "45.50", invoice_ids=[new.pk])
    assert due(new) == Decimal("0.00")
    assert due(old) == Decimal("25.00")
    assert status(old) == InvoiceStatus.PARTIALLY_PAID


def test_credit_pays_the_next_invoice_when_it_is_issued(account):
    pay(account, "100.00")
    assert selectors.account_credit(billing_account_id=account.pk) == {"EUR": Decimal("100.00")}
    invoice = invoice_issued_add(
        account,
        gross="59.99",
        number="INV-2026-000003",
        issued_on=dt.date(2026, 11, 2),
        status=InvoiceStatus.DRAFT,
    )
    Invoice.objects.filter(pk=invoice.pk).update(number="")
    invoicing_services.invoices_issue(invoice_ids=[invoice.pk])
    assert status(invoice) == InvoiceStatus.PAID
    assert selectors.account_credit(billing_account_id=account.pk) == {"EUR": Decimal("40.01")}


def test_an_overdue_invoice_partly_paid_stays_overdue_and_paid_in_full_is_paid(account):
    invoice = invoice_issued_add(
        account,
        gross="30.00",
        number="INV-2026-000001",
        issued_on=dt.date(2026, 9, 2),
        status=InvoiceStatus.OVERDUE,
    )
    pay(account, "10.00")
    assert (status(invoice), due(invoice)) == (InvoiceStatus.OVERDUE, Decimal("20.00"))
    pay(account, "20.00")
    assert status(invoice) == InvoiceStatus.PAID
    paid = OutboxEvent.objects.filter(event_type="invoice.paid")
    assert [event.payload["number"] for event in paid] == ["INV-2026-000001"]


def test_a_refund_of_a_payment_takes_credit_first_then_reopens_the_invoice(account):
    invoice = invoice_issued_add(account, gross="30.00", number="INV-2026-000001",
                                 issued_on=dt.date(2026, 10, 2))  # fmt: skip
    payment = pay(account, "35.00")
    assert status(invoice) == InvoiceStatus.PAID
    services.refund_create(payment=payment, amount=Decimal("5.00"), reason="overpaid")
    assert status(invoice) == InvoiceStatus.PAID
    assert selectors.account_credit(billing_account_id=account.pk) == {}
    services.refund_create(payment=payment, amount=Decimal("12.34"), reason="goodwill")
    assert (status(invoice), due(invoice)) == (InvoiceStatus.PARTIALLY_PAID, Decimal("12.34"))
    amounts = list(PaymentAllocation.objects.order_by("pk").values_list("amount", flat=True))
    assert amounts == [Decimal("30.00"), Decimal("-12.34")]  # rows, never edited
    with pytest.raises(ValidationError) as error:
        services.refund_create(payment=payment, amount=Decimal("17.67"), reason="too much")
    assert "amount" in error.value.message_dict
    assert OutboxEvent.objects.filter(event_type="payment.refunded").count() == 2


def test_a_refund_of_account_credit_draws_on_payments_oldest_first(account):
    first = pay(account, "10.00")
    second = pay(account, "15.00")
    refunds = services.account_credit_refund(
        billing_account=account, amount=Decimal("12.00"), reason="customer left"
    )
    assert [(r.payment_id, r.amount) for r in refunds] == [
        (first.pk, Decimal("10.00")), (second.pk, Decimal("2.00"))
    ]  # fmt: skip
    assert selectors.account_credit(billing_account_id=account.pk) == {"EUR": Decimal("13.00")}
    with pytest.raises(ValidationError):
        services.account_credit_refund(
            billing_account=account, amount=Decimal("13.01"), reason="too much"
        )


def test_a_returned_payment_reopens_the_invoice_it_paid(account):
    invoice = invoice_issued_add(account, gross="30.00", number="INV-2026-000001",
                                 issued_on=dt.date(2026, 10, 2))  # fmt: skip
    payment = pay(account, "30.00")
    assert status(invoice) == InvoiceStatus.PAID
    services.payment_return(payment=payment, reason_code="AM04")
    assert (status(invoice), due(invoice)) == (InvoiceStatus.ISSUED, Decimal("30.00"))
    assert selectors.account_credit(billing_account_id=account.pk) == {}
    event = OutboxEvent.objects.get(event_type="payment.returned")
    assert event.payload["reasonCode"] == "AM04"
    assert event.payload["reopened"] == ["INV-2026-000001"]
    with pytest.raises(ValidationError):
        services.payment_return(payment=payment, reason_code="AM04")


def test_a_returned_payment_of_an_invoice_that_was_overdue_reopens_it_overdue(account):
    invoice = invoice_issued_add(
        account,
        gross="30.00",
        number="INV-2026-000001",
        issued_on=dt.date(2026, 9, 2),
        status=InvoiceStatus.OVERDUE,
    )
    payment = pay(account, "30.00")
    assert status(invoice) == InvoiceStatus.PAID
    services.payment_return(payment=payment, reason_code="MD06")
    assert status(invoice) == InvoiceStatus.OVERDUE


def test_bad_payments_are_refused_with_the_field_that_is_wrong(account):
    cases = [
        ({"amount": Decimal("0")}, "amount"),
        ({"amount": Decimal("1.234")}, "amount"),
        ({"currency": "GBP"}, "currency"),
        ({"method": "barter"}, "method"),
        ({"received_on": dt.date(2026, 12, 24)}, "received_on"),
    ]
    for change, field in cases:
        data = {
            "billing_account": account,
            "amount": Decimal("10.00"),
            "currency": "EUR",
            "method": PaymentMethod.CARD,
            "received_on": dt.date(2026, 11, 18),
            **change,
        }
        with pytest.raises(ValidationError) as error:
            services.payment_record(**data)
        assert field in error.value.message_dict, change


def test_a_gateway_payment_id_is_recorded_once(account):
    pay(account, "10.00", external_id="ch_123")
    with pytest.raises(ValidationError) as error:
        pay(account, "10.00", external_id="ch_123")
    assert "external_id" in error.value.message_dict


def test_a_payment_cannot_name_another_accounts_invoice(account):
    other = account_add(world_build(), name="Bert")
    foreign = invoice_issued_add(other, gross="30.00", number="INV-2026-000009",
                                 issued_on=dt.date(2026, 10, 2))  # fmt: skip
    with pytest.raises(ValidationError) as error:
        pay(account, "10.00", invoice_ids=[foreign.pk])
    assert "invoices" in error.value.message_dict
    assert not account.payments.exists()


def test_voiding_a_paid_invoice_turns_its_payment_into_credit(account):
    invoice = invoice_issued_add(account, gross="30.00", number="INV-2026-000001",
                                 issued_on=dt.date(2026, 10, 2))  # fmt: skip
    pay(account, "30.00")
    invoicing_services.invoice_void(invoice=Invoice.objects.get(pk=invoice.pk), reason="error")
    assert status(invoice) == InvoiceStatus.VOID
    assert selectors.account_credit(billing_account_id=account.pk) == {"EUR": Decimal("30.00")}


def test_a_partial_credit_note_lowers_the_amount_due(account):
    invoice = invoice_issued_add(account, gross="119.00", number="INV-2026-000001",
                                 issued_on=dt.date(2026, 10, 2))  # fmt: skip
    pay(account, "59.50")
    invoicing_services.credit_note_create(
        invoice=Invoice.objects.get(pk=invoice.pk), reason="goodwill", amount=Decimal("50.00")
    )
    assert (status(invoice), due(invoice)) == (InvoiceStatus.PAID, Decimal("0.00"))
