"""Review, then issue: exclusion, regeneration, gapless numbers under concurrent issuing (R27),
issued is final (R28), credit notes and voiding."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection, connections

from invoicing import services
from invoicing.models import BillRunStatus, Invoice, InvoiceKind, InvoiceSeries, InvoiceStatus
from invoicing.selectors import previous_invoice
from tests.invoicing.builders import (
    account_add,
    event_add,
    plan_add,
    run_bill,
    subscription_add,
    world_build,
)

OCT = dt.date(2026, 10, 1)
NOW = "2026-11-02 09:00:00+01:00"


@pytest.fixture
def world(db):
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    return world


def drafted(world, count: int):
    accounts = [account_add(world, name=f"Customer {i}") for i in range(count)]
    subscriptions = [subscription_add(world, a, "ADV", active_from=OCT) for a in accounts]
    return run_bill(world, 2026, 10), accounts, subscriptions


@pytest.fixture(autouse=True)
def no_documents(monkeypatch):
    """Rendering PDFs is tested elsewhere; here issuing is what counts."""
    monkeypatch.setattr(services, "invoices_issued_publish", lambda **kwargs: None)


@time_machine.travel(NOW, tick=False)
def test_issuing_a_run_numbers_drafts_without_gaps_and_skips_excluded_ones(world):
    run, accounts, _ = drafted(world, 4)
    excluded = Invoice.objects.get(billing_account=accounts[1])
    services.invoice_exclude(invoice=excluded)

    run = services.bill_run_issue(bill_run=run)

    assert run.status == BillRunStatus.ISSUED and run.invoices_issued == 3
    issued = Invoice.objects.filter(status=InvoiceStatus.ISSUED).order_by("number")
    assert [i.number for i in issued] == ["INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
    assert all(i.issue_date == dt.date(2026, 11, 2) for i in issued)
    assert all(i.due_date == dt.date(2026, 11, 16) for i in issued)
    excluded.refresh_from_db()
    assert excluded.status == InvoiceStatus.EXCLUDED and excluded.number == ""
    assert InvoiceSeries.objects.get(code="INV-2026").last_number == 3
    trail = issued.first().history.first()  # the audit trail records the issue
    assert (trail.history_change_reason, trail.status) == ("issued", InvoiceStatus.ISSUED)


@time_machine.travel(NOW, tick=False)
def test_an_excluded_draft_is_fixed_regenerated_and_issued_on_its_own(world):
    run, (account,), (subscription,) = drafted(world, 1)
    draft = Invoice.objects.get()
    services.invoice_exclude(invoice=draft)
    event_add(subscription, at=dt.datetime(2026, 10, 9, tzinfo=dt.UTC), amount="2.50")

    again = services.invoice_regenerate(invoice=draft)

    assert again.status == InvoiceStatus.DRAFT and again.net_total == Decimal("62.50")
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    issued = services.invoice_issue(invoice=again)
    assert issued.number == "INV-2026-000001"


@time_machine.travel(NOW, tick=False)
def test_issued_is_final(world):
    run, _, _ = drafted(world, 1)
    invoice = services.invoice_issue(invoice=Invoice.objects.get())
    with pytest.raises(ValidationError):
        services.invoice_regenerate(invoice=invoice)
    with pytest.raises(ValidationError):
        services.invoice_exclude(invoice=invoice)
    with pytest.raises(ValidationError):
        services.invoice_issue(invoice=invoice)
    # A rerun of the run leaves the issued invoice alone.
    run_bill(world, 2026, 10)
    assert Invoice.objects.get().number == invoice.number


@time_machine.travel(NOW, tick=False)
def test_previous_invoice_is_the_accounts_last_one(world):
    _, (account,), _ = drafted(world, 1)
    run_bill(world, 2026, 11)
    november = Invoice.objects.get(period_start_date=dt.date(2026, 11, 1))
    assert previous_invoice(november).period_start_date == OCT
    assert previous_invoice(previous_invoice(november)) is None


@time_machine.travel(NOW, tick=False)
def test_a_full_credit_note_mirrors_the_invoice_and_takes_its_own_series(world):
    drafted(world, 1)
    invoice = services.invoice_issue(invoice=Invoice.objects.get())

    note = services.credit_note_create(invoice=invoice, reason="goodwill")

    assert (note.kind, note.status, note.number) == (
        InvoiceKind.CREDIT_NOTE, InvoiceStatus.ISSUED, "CN-2026-000001"
    )  # fmt: skip
    assert note.corrects == invoice and note.reason == "goodwill"
    assert (note.net_total, note.tax_total, note.gross_total) == (
        -invoice.net_total, -invoice.tax_total, -invoice.gross_total
    )  # fmt: skip
    assert [line.corrects_id for line in note.lines.all()] == [
        line.pk for line in invoice.lines.all()
    ]
    with pytest.raises(ValidationError):
        services.credit_note_create(invoice=invoice, reason="again", amount=Decimal("1.00"))


@time_machine.travel(NOW, tick=False)
def test_partial_credit_notes_never_exceed_the_invoice(world):
    drafted(world, 1)
    invoice = services.invoice_issue(invoice=Invoice.objects.get())  # 60.00 net, 71.40 gross

    note = services.credit_note_create(invoice=invoice, reason="outage", amount=Decimal("10.00"))

    assert (note.net_total, note.tax_total, note.gross_total) == (
        Decimal("-10.00"), Decimal("-1.90"), Decimal("-11.90")
    )  # fmt: skip
    services.credit_note_create(invoice=invoice, reason="more", amount=Decimal("50.00"))
    with pytest.raises(ValidationError) as error:
        services.credit_note_create(invoice=invoice, reason="too much", amount=Decimal("0.01"))
    assert "amount" in error.value.message_dict
    for bad in ("0", "-1", "1.001", "abc"):
        with pytest.raises(ValidationError):
            services.credit_note_create(invoice=invoice, reason="bad", amount=bad)
    with pytest.raises(ValidationError):
        services.credit_note_create(invoice=invoice, reason=" ", amount=Decimal("1"))


@time_machine.travel(NOW, tick=False)
def test_voiding_keeps_the_number_and_cancels_with_a_credit_note(world):
    drafted(world, 1)
    invoice = services.invoice_issue(invoice=Invoice.objects.get())

    voided = services.invoice_void(invoice=invoice, reason="issued to the wrong customer")

    assert voided.status == InvoiceStatus.VOID and voided.number == "INV-2026-000001"
    note = voided.credit_notes.get()
    assert note.gross_total == -invoice.gross_total
    with pytest.raises(ValidationError):
        services.invoice_void(invoice=voided, reason="twice")
    with pytest.raises(ValidationError):
        services.credit_note_create(invoice=voided, reason="after void")


def test_a_draft_cannot_be_credited(world):
    drafted(world, 1)
    with pytest.raises(ValidationError):
        services.credit_note_create(invoice=Invoice.objects.get(), reason="draft")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_parallel_issuers_never_share_or_skip_a_number():
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    accounts = [account_add(world, name=f"P{i}") for i in range(24)]
    for account in accounts:
        subscription_add(world, account, "ADV", active_from=OCT)
    run_bill(world, 2026, 10)
    ids = list(Invoice.objects.order_by("pk").values_list("pk", flat=True))
    barrier = threading.Barrier(4)
    errors = []

    def issue(chunk):
        try:
            barrier.wait()
            for pk in chunk:
                services.invoices_issue(invoice_ids=[pk])
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    # Four workers issue interleaved invoices at once, each in its own connection.
    threads = [threading.Thread(target=issue, args=(ids[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    year = Invoice.objects.first().issue_date.year
    assert numbers == [f"INV-{year}-{n:06d}" for n in range(1, 25)]
