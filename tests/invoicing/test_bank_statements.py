"""Bank statements (CAMT.053 and MT940) matched to invoices, the queue of unmatched lines, and
SEPA direct debit files (pain.008) with their returns (issue 15, item 5)."""

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from lxml import etree

from invoicing.models import BillRun, BillRunStatus, Invoice, InvoiceStatus
from invoicing.payments import bank, selectors, sepa
from invoicing.payments.models import (
    LineStatus,
    Payment,
    PaymentMethod,
    PaymentReturn,
)
from invoicing.services import bill_cycle_save
from tests.invoicing.builders import account_add, world_build
from tests.invoicing.payment_builders import invoice_issued_add, profile_add

DATA = Path(__file__).parent / "data"
CAMT = "camt053_20261116.xml"
MT940 = "mt940_20261117.sta"
NOW = "2026-11-20 10:00:00+01:00"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ledger(db):
    """Three accounts of LOREM-like brand: two invoices to pay by transfer, one collected by
    direct debit (its return comes back on the statements)."""
    world = world_build()
    profile_add(world.brand)
    anna = account_add(world, name="Anna Mueller", number="A-100001")
    schmidt = account_add(world, name="Schmidt Consulting", number="A-100002")
    carla = account_add(world, name="Carla Weber", number="A-100003")
    october = dt.date(2026, 10, 2)
    invoices = {
        "anna": invoice_issued_add(anna, gross="60.83", number="INV-2026-000101",
                                   issued_on=october),
        "schmidt": invoice_issued_add(schmidt, gross="55.00", number="INV-2026-000102",
                                      issued_on=october),
        "carla": invoice_issued_add(carla, gross="30.00", number="INV-2026-000103",
                                    issued_on=october),
    }  # fmt: skip
    run = BillRun.objects.create(
        cycle=bill_cycle_save(brand=world.brand, cycle_day=1), period_year=2026,
        period_month=10, status=BillRunStatus.ISSUED,
    )  # fmt: skip
    Invoice.objects.filter(pk=invoices["carla"].pk).update(bill_run=run)
    sepa.sepa_mandate_create(
        billing_account=carla, reference="MANDATE-A-100003", debtor_name="Carla Weber",
        iban="DE75 5121 0800 1245 1261 99", bic="SOGEDEFFXXX", signed_on=dt.date(2026, 9, 1),
    )  # fmt: skip
    with time_machine.travel("2026-11-03 09:00:00+01:00", tick=False):
        collection = sepa.sepa_collection_create(bill_run=run, collection_date=dt.date(2026, 11, 5))
    return world, invoices, collection


def status(invoice) -> str:
    return Invoice.objects.get(pk=invoice.pk).status


def due(invoice) -> Decimal:
    return selectors.invoice_amount_due(invoice=Invoice.objects.get(pk=invoice.pk))


def imported(world, name: str):
    return bank.bank_statement_import(
        brand=world.brand, name=name, content=(DATA / name).read_bytes()
    )


@pytest.mark.parametrize("name", [CAMT, MT940])
def test_a_statement_is_matched_by_invoice_number_customer_reference_and_return(ledger, name):
    world, invoices, _collection = ledger
    assert status(invoices["carla"]) == InvoiceStatus.PAID  # collected by direct debit
    statement = imported(world, name)
    assert (statement.lines_total, statement.lines_matched) == (4 if name == MT940 else 5, 3)
    # 1. the invoice number in the reference: the invoice is paid in full.
    assert (status(invoices["anna"]), due(invoices["anna"])) == (InvoiceStatus.PAID,
                                                                 Decimal("0.00"))  # fmt: skip
    # 2. the customer reference: oldest invoice first, part paid.
    assert (status(invoices["schmidt"]), due(invoices["schmidt"])) == (
        InvoiceStatus.PARTIALLY_PAID, Decimal("15.00"))  # fmt: skip
    # 3. the returned direct debit reopens its invoice.
    assert (status(invoices["carla"]), due(invoices["carla"])) == (InvoiceStatus.ISSUED,
                                                                   Decimal("30.00"))  # fmt: skip
    assert PaymentReturn.objects.get().reason_code == "AM04"
    lines = statement.lines.order_by("position")
    assert [line.status for line in lines][:4] == [
        LineStatus.MATCHED, LineStatus.MATCHED, LineStatus.UNMATCHED, LineStatus.RETURN,
    ]  # fmt: skip
    anna = Payment.objects.get(statement_line=lines[0])
    assert (anna.amount, anna.payer_iban, anna.method) == (
        Decimal("60.83"), "DE02100100100006820101", PaymentMethod.BANK_TRANSFER)  # fmt: skip
    assert lines[2].match_note == "no invoice number, customer reference or known IBAN"


@pytest.mark.parametrize("name", [CAMT, MT940])
def test_a_statement_file_imported_twice_is_refused_and_changes_nothing(ledger, name):
    world, _invoices, _collection = ledger
    imported(world, name)
    payments = Payment.objects.count()
    with pytest.raises(ValidationError) as error:
        imported(world, name)
    assert "imported already" in error.value.message_dict["file"][0]
    assert Payment.objects.count() == payments


def test_the_same_statement_sent_again_in_another_file_is_refused(ledger):
    world, _invoices, _collection = ledger
    imported(world, CAMT)
    again = (DATA / CAMT).read_bytes().replace(b"CAMT053-20261116-0001", b"CAMT053-RESENT")
    with pytest.raises(ValidationError) as error:
        bank.bank_statement_import(brand=world.brand, name="again.xml", content=again)
    assert "imported already" in error.value.message_dict["file"][0]


def test_finance_matches_a_waiting_line_by_hand_or_discards_it_with_a_reason(ledger):
    world, invoices, _collection = ledger
    statement = imported(world, CAMT)
    gift, fee = statement.lines.filter(status=LineStatus.UNMATCHED).order_by("position")
    carla = invoices["carla"].billing_account
    payment = bank.statement_line_match(line=gift, billing_account=carla)
    assert payment.amount == Decimal("25.00")
    assert due(invoices["carla"]) == Decimal("5.00")
    with pytest.raises(ValidationError):
        bank.statement_line_match(line=gift, billing_account=carla)  # matched already
    with pytest.raises(ValidationError) as error:
        bank.statement_line_discard(line=fee, reason=" ")
    assert "reason" in error.value.message_dict
    bank.statement_line_discard(line=fee, reason="bank fee, booked by accounting")
    fee.refresh_from_db()
    assert (fee.status, fee.discard_reason) == (LineStatus.DISCARDED,
                                                "bank fee, booked by accounting")  # fmt: skip


def test_a_known_payer_iban_matches_a_line_without_reference(ledger):
    world, invoices, _collection = ledger
    statement = imported(world, CAMT)
    gift = statement.lines.get(position=3)
    anna = invoices["anna"].billing_account
    bank.statement_line_match(line=gift, billing_account=anna)
    account, _ids, why = bank.line_candidate(line=gift, brand=world.brand)
    assert account == anna and "IBAN" in why


def test_a_statement_of_another_bank_account_or_not_a_statement_is_refused(ledger):
    world, _invoices, _collection = ledger
    other = (DATA / CAMT).read_bytes().replace(b"DE89370400440532013000", b"DE02120300000000202051")
    for content in (other, b"hello", b"<x/>", b""):
        with pytest.raises(ValidationError) as error:
            bank.bank_statement_import(brand=world.brand, name="bad", content=content)
        assert "file" in error.value.message_dict


def test_the_pain008_file_is_valid_against_its_schema_and_sent_once(ledger):
    world, invoices, collection = ledger
    import sepaxml

    schema_path = Path(os.path.dirname(sepaxml.__file__)) / "schemas" / "pain.008.001.08.xsd"
    schema = etree.XMLSchema(etree.parse(str(schema_path)))
    document = etree.fromstring(collection.xml.encode())
    assert schema.validate(document), schema.error_log
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
    assert document.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == "1"
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "30.00"
    assert document.findtext(".//p:PmtTpInf/p:SeqTp", namespaces=ns) == "FRST"
    assert (
        document.findtext(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=ns)
        == "DE98ZZZ09999999999"
    )
    assert document.findtext(".//p:DrctDbtTxInf//p:MndtId", namespaces=ns) == "MANDATE-A-100003"
    assert document.findtext(".//p:DrctDbtTxInf//p:EndToEndId", namespaces=ns) == (
        "INV-2026-000103")  # fmt: skip
    assert document.findtext(".//p:DrctDbtTxInf/p:InstdAmt", namespaces=ns) == "30.00"
    again = sepa.sepa_collection_create(bill_run=collection.bill_run)
    assert again.pk == collection.pk
    assert Payment.objects.filter(method=PaymentMethod.DIRECT_DEBIT).count() == 1
    mandate = invoices["carla"].billing_account.sepa_mandates.get()
    assert (mandate.first_collected_on, mandate.sequence) == (dt.date(2026, 11, 5), "RCUR")


def test_a_collection_needs_a_creditor_id_and_something_to_collect(ledger):
    world, invoices, _collection = ledger
    cycle = bill_cycle_save(brand=world.brand, cycle_day=1)
    empty = BillRun.objects.create(cycle=cycle, period_year=2026, period_month=11,
                                   status=BillRunStatus.ISSUED)  # fmt: skip
    with pytest.raises(ValidationError) as error:
        sepa.sepa_collection_create(bill_run=empty)
    assert "bill_run" in error.value.message_dict
    world.brand.invoice_profile.sepa_creditor_id = "DE00NOTVALID"
    world.brand.invoice_profile.save()
    with pytest.raises(ValidationError) as error:
        sepa.sepa_collection_create(bill_run=empty)
    assert "creditor_id" in error.value.message_dict


def test_a_mandate_with_a_bad_iban_is_refused_and_a_new_one_replaces_the_old(ledger):
    world, invoices, _collection = ledger
    carla = invoices["carla"].billing_account
    with pytest.raises(ValidationError) as error:
        sepa.sepa_mandate_create(billing_account=carla, reference="M2", debtor_name="Carla",
                                 iban="DE00123", signed_on=dt.date(2026, 11, 1))  # fmt: skip
    assert "iban" in error.value.message_dict
    sepa.sepa_mandate_create(
        billing_account=carla,
        reference="M2",
        debtor_name="Carla",
        iban="DE02120300000000202051",
        signed_on=dt.date(2026, 11, 1),
    )
    active = carla.sepa_mandates.filter(revoked_on__isnull=True)
    assert [m.reference for m in active] == ["M2"]
