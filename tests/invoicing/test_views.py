"""The invoicing console: bill runs with progress, invoices with filters and CSV, actions that
finance may take and others may not."""

import datetime as dt

import pytest
import time_machine

from invoicing.models import BillRun, Invoice, InvoiceStatus
from subscribers.models import BrandScope
from tests.invoicing.builders import account_add, plan_add, run_bill, subscription_add, world_build

pytestmark = pytest.mark.django_db
NOW = "2026-11-02 09:00:00+01:00"


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    for name in ("Alice", "Bob"):
        account = account_add(world, name=name)
        subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 1))
    return world


@pytest.fixture
def run(world):
    return run_bill(world, 2026, 10)


def test_every_role_reads_the_run_and_its_invoices(run, role_users, console_client_for):
    for user in role_users.values():
        client = console_client_for(user)
        page = client.get(f"/invoicing/runs/{run.pk}/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "2 of 2 accounts done (100 %)" in text
        assert client.get("/invoicing/runs/").status_code == 200
        assert client.get("/invoicing/invoices/").status_code == 200


def test_the_invoice_list_filters_and_exports_csv(run, finance, console_client_for):
    client = console_client_for(finance)
    listed = client.get("/invoicing/invoices/", {"customer": "Alice"})
    assert listed.status_code == 200 and "1 result" in listed.content.decode()
    csv = client.get("/invoicing/invoices/", {"status": "draft", "_export": "csv"})
    rows = b"".join(csv.streaming_content).decode().strip().splitlines()
    assert rows[0].startswith("Document,Kind,Status")
    assert len(rows) == 3 and all(",draft," in row for row in rows[1:])


def test_the_invoice_page_shows_lines_totals_and_finances_actions(run, finance, auditor,
                                                                  console_client_for):  # fmt: skip
    invoice = Invoice.objects.first()
    text = console_client_for(finance).get(f"/invoicing/invoices/{invoice.pk}/").content.decode()
    assert "November 2026, in advance" in text and "71.40" in text
    assert f"/invoicing/invoices/{invoice.pk}/issue/" in text
    assert "No earlier invoice of this account" in text
    text = console_client_for(auditor).get(f"/invoicing/invoices/{invoice.pk}/").content.decode()
    assert f"/invoicing/invoices/{invoice.pk}/issue/" not in text


@time_machine.travel(NOW, tick=False)
def test_finance_issues_a_run_as_a_confirmed_action(
    run, finance, console_client_for, django_capture_on_commit_callbacks
):
    client = console_client_for(finance)
    assert "Issue the run" in client.get(f"/invoicing/runs/{run.pk}/issue/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/invoicing/runs/{run.pk}/issue/")
    assert response.status_code == 302
    assert BillRun.objects.get().status == "issued"
    invoice = Invoice.objects.order_by("number").first()
    assert invoice.number == "INV-2026-000001"
    pdf = client.get(f"/invoicing/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


@time_machine.travel(NOW, tick=False)
def test_finance_credits_and_voids_with_a_reason(run, finance, console_client_for):
    client = console_client_for(finance)
    invoice = Invoice.objects.first()
    client.post(f"/invoicing/invoices/{invoice.pk}/issue/")
    form = client.post(f"/invoicing/invoices/{invoice.pk}/credit/", {"reason": "", "amount": ""})
    assert form.status_code == 200 and "This field is required" in form.content.decode()
    too_much = client.post(
        f"/invoicing/invoices/{invoice.pk}/credit/", {"reason": "x", "amount": "500"}
    )
    assert "more than what is left" in too_much.content.decode()
    done = client.post(f"/invoicing/invoices/{invoice.pk}/credit/", {"reason": "outage",
                                                                     "amount": "5.00"})  # fmt: skip
    assert done.status_code == 302
    voided = client.post(f"/invoicing/invoices/{invoice.pk}/void/", {"reason": "wrong"})
    assert voided.status_code == 200  # partly credited: the form says so
    assert "credit the rest by amount" in voided.content.decode()
    other = Invoice.objects.filter(status=InvoiceStatus.DRAFT).first()
    client.post(f"/invoicing/invoices/{other.pk}/issue/")
    assert client.post(f"/invoicing/invoices/{other.pk}/void/", {"reason": "x"}).status_code == 302
    other.refresh_from_db()
    assert other.status == InvoiceStatus.VOID and other.number


def test_readers_cannot_act(run, operator, auditor, console_client_for):
    invoice = Invoice.objects.first()
    for user in (operator, auditor):
        client = console_client_for(user)
        assert client.post(f"/invoicing/invoices/{invoice.pk}/issue/").status_code == 403
        assert client.post(f"/invoicing/runs/{run.pk}/issue/").status_code == 403
        assert client.get("/invoicing/runs/new/").status_code == 403
    assert Invoice.objects.filter(status="draft").count() == 2


def test_exclude_then_regenerate_from_the_console(run, finance, console_client_for):
    client = console_client_for(finance)
    invoice = Invoice.objects.first()
    client.post(f"/invoicing/invoices/{invoice.pk}/exclude/")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.EXCLUDED
    response = client.post(f"/invoicing/invoices/{invoice.pk}/regenerate/")
    assert response.status_code == 302
    assert Invoice.objects.filter(status="draft").count() == 2


def test_a_bill_run_is_started_from_the_console(world, finance, console_client_for,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    client = console_client_for(finance)
    cycle = world.cycle
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/invoicing/runs/new/", {"cycle": cycle.pk, "year": 2026,
                                                       "month": 10})  # fmt: skip
    run = BillRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/invoicing/runs/{run.pk}/"
    assert (run.status, run.accounts_done) == ("drafted", 2)
    bad = client.post("/invoicing/runs/new/", {"cycle": cycle.pk, "year": 2026, "month": 13})
    assert bad.status_code == 200


def test_other_brands_runs_and_invoices_are_hidden(run, finance, console_client_for):
    BrandScope.objects.create(user=finance, brand=world_build().brand)
    client = console_client_for(finance)
    assert client.get(f"/invoicing/runs/{run.pk}/").status_code == 404
    assert client.get(f"/invoicing/invoices/{Invoice.objects.first().pk}/").status_code == 404
    assert "0 results" in client.get("/invoicing/invoices/").content.decode()


@time_machine.travel(NOW, tick=False)
def test_the_invoice_register_lists_issued_documents_per_tax_rate(run, finance, auditor,
                                                                  console_client_for):  # fmt: skip
    from invoicing import services

    first, second = Invoice.objects.order_by("pk")
    services.invoice_issue(invoice=first)
    services.credit_note_create(invoice=first, reason="outage", amount="5.00")
    response = console_client_for(auditor).get("/invoicing/invoices/register.csv")
    rows = b"".join(response.streaming_content).decode().strip().splitlines()
    assert rows[0].startswith("number,kind,status,issue_date")
    assert rows[1:] == [
        f"INV-2026-000001,invoice,issued,2026-11-02,2026-10-01,{first.billing_account.number},"
        "Alice Tester,,EUR,0.19000,60.00,11.40,71.40",
        "CN-2026-000001,credit_note,issued,2026-11-02,2026-10-01,"
        f"{first.billing_account.number},Alice Tester,INV-2026-000001,EUR,0.19000,-5.00,-0.95,"
        "-5.95",
    ]
    page = console_client_for(finance).get("/invoicing/invoices/")
    assert "/invoicing/invoices/register.csv" in page.content.decode()


@time_machine.travel(NOW, tick=False)
def test_an_account_and_its_customer_show_their_bills_linked_to_the_list(
    run, finance, console_client_for
):
    from invoicing.services import invoice_issue

    invoice = Invoice.objects.get(customer_name__startswith="Alice")
    invoice_issue(invoice=invoice)
    invoice.refresh_from_db()
    account = invoice.billing_account
    client = console_client_for(finance)
    for page_url in (account.get_absolute_url(), account.customer.get_absolute_url()):
        page = client.get(page_url)
        panel = next(p for p in page.context["related_panels"] if p.title == "Invoices")
        figures = {figure.label: figure for figure in panel.figures}
        assert figures["Invoices"].value == 1
        latest = figures[f"Latest invoice, {invoice.number} of 02 Nov 2026: issued"]
        assert latest.value == "71.40 EUR"
        assert latest.url == invoice.get_absolute_url()
        unpaid = figures["Left to pay on 1 invoice not paid in full"]
        assert unpaid.value == "71.40 EUR"
        listed = client.get(figures["Invoices"].url)
        assert [row.record for row in listed.context["table"].page.object_list] == [invoice]
        assert client.get(unpaid.url).context["table"].paginator.count == 1


def test_a_customer_page_shows_the_usage_of_each_of_its_accounts(run, auditor, console_client_for):
    account = Invoice.objects.get(customer_name__startswith="Bob").billing_account
    page = console_client_for(auditor).get(account.customer.get_absolute_url())
    titles = [panel.title for panel in page.context["related_panels"]]
    assert f"Usage of account {account.number}" in titles
