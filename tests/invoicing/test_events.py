"""Issued documents are announced through the outbox, in the issuing transaction (item 7)."""

from decimal import Decimal

import pytest

from core.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from invoicing.models import Invoice
from invoicing.services import bill_cycle_save, bill_run_create, bill_run_execute, bill_run_issue
from tests.invoicing.test_golden_invoices import golden  # noqa: F401 - the October world

pytestmark = pytest.mark.django_db


def test_issuing_a_run_publishes_one_event_per_invoice_to_the_brands_endpoints(golden):  # noqa: F811
    catalog, _ = golden
    endpoint = WebhookEndpoint.objects.create(
        name="ERP", url="http://127.0.0.1:9/erp", brand=catalog.brand,
        event_types=["invoice.issued"],
    )  # fmt: skip
    cycle = bill_cycle_save(brand=catalog.brand, cycle_day=1)
    run = bill_run_execute(bill_run=bill_run_create(cycle=cycle, year=2026, month=10))
    assert not OutboxEvent.objects.exists()  # drafts are not announced
    bill_run_issue(bill_run=run)
    events = OutboxEvent.objects.filter(event_type="invoice.issued").order_by("subject")
    assert [e.subject for e in events] == ["INV-2026-000001", "INV-2026-000002",
                                           "INV-2026-000003"]  # fmt: skip
    by_number = {e.subject: e.payload for e in events}
    for invoice in Invoice.objects.all():
        payload = by_number[invoice.number]
        assert payload["gross"] == str(invoice.gross_total)
        assert payload["billingAccount"]["id"] == invoice.billing_account_id
        assert payload["dueDate"] == invoice.due_date.isoformat()
    assert {e.brand_id for e in events} == {catalog.brand.pk}
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert deliveries.count() == 3
    assert sum(Decimal(p["gross"]) for p in by_number.values()) == Decimal("113.52")


def test_finance_sees_drafts_to_review_and_what_was_issued_on_the_home_page(
    golden,  # noqa: F811 - the fixture imported above
    finance,
    console_client_for,
):
    import datetime as dt

    from core.console.dashboard import panels_for

    catalog, _ = golden
    cycle = bill_cycle_save(brand=catalog.brand, cycle_day=1)
    run = bill_run_execute(bill_run=bill_run_create(cycle=cycle, year=2026, month=10))
    client = console_client_for(finance)

    def figures():
        panel = next(
            p for p in panels_for(user=finance, now=dt.datetime.now(dt.UTC))
            if p.title == "Invoicing"
        )  # fmt: skip
        return {f.label.split(" since")[0]: f for f in panel.figures}

    drafts = figures()["Draft invoices to review"]
    assert drafts.value == 3
    assert client.get(drafts.url).context["table"].paginator.count == 3
    bill_run_issue(bill_run=run)
    after = figures()
    assert after["Draft invoices to review"].value == 0
    assert after["Invoices issued"].value == 3
    assert after["Invoiced"].value == "113.52 EUR"
    assert client.get(after["Invoices issued"].url).context["table"].paginator.count == 3
