"""The payments API after TMF676 (payment, refund) and TMF670 (paymentMethod): field errors,
idempotent replays, brand scoping."""

import datetime as dt
from pathlib import Path

import pytest
import time_machine

from catalog.models import BrandScope
from invoicing.models import Invoice, InvoiceStatus
from invoicing.payments.models import Payment
from tests.invoicing.builders import account_add, world_build
from tests.invoicing.payment_builders import invoice_issued_add, profile_add

DATA = Path(__file__).parent / "data"
NOW = "2026-11-20 10:00:00+01:00"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(db):
    world = world_build()
    profile_add(world.brand)
    world.account = account_add(world, name="Anna Mueller", number="A-100001")
    world.invoice = invoice_issued_add(world.account, gross="60.83", number="INV-2026-000101",
                                       issued_on=dt.date(2026, 10, 2))  # fmt: skip
    return world


def url(path: str) -> str:
    return f"/api/v1/invoicing/{path}"


def body(world, **change) -> dict:
    data = {
        "account": {"id": str(world.account.pk)},
        "totalAmount": {"unit": "EUR", "value": "70.00"},
        "paymentDate": "2026-11-19",
        "paymentMethod": "card",
        "correlatorId": "pi_3Nabc",
        "paymentItem": [{"item": {"id": str(world.invoice.pk)}}],
    }
    data.update(change)
    return data


def test_a_gateway_records_a_payment_once_with_an_idempotency_key(world, finance, api_client_for):
    client = api_client_for(finance)
    first = client.post(url("payment"), body(world), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.json()
    payment = first.json()
    assert payment["@type"] == "Payment"
    assert payment["totalAmount"] == {"unit": "EUR", "value": "70.00"}
    assert payment["unallocatedAmount"] == {"unit": "EUR", "value": "9.17"}
    assert [(i["item"]["name"], i["amount"]["value"]) for i in payment["paymentItem"]] == [
        ("INV-2026-000101", "60.83")
    ]
    again = client.post(url("payment"), body(world), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == payment
    assert Payment.objects.count() == 1
    other = client.post(url("payment"), body(world, correlatorId="x"), format="json",
                        HTTP_IDEMPOTENCY_KEY="k-1")  # fmt: skip
    assert other.status_code == 409
    bill = client.get(url(f"customerBill/{world.invoice.pk}")).json()
    assert (bill["state"], bill["amountDue"]["value"]) == ("settled", "0.00")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"totalAmount": {"unit": "EUR", "value": 70.0}}, "totalAmount"),
        ({"totalAmount": {"unit": "GBP", "value": "70.00"}}, "totalAmount.unit"),
        ({"totalAmount": {"unit": "EUR", "value": "-1.00"}}, "totalAmount"),
        ({"paymentMethod": "barter"}, "paymentMethod"),
        ({"paymentDate": "yesterday"}, "paymentDate"),
        ({"account": {"id": "999999"}}, "account"),
        ({"paymentItem": [{"item": {"id": "999999"}}]}, "paymentItem"),
        ({"paymentDate": "2027-01-01"}, "paymentDate"),
    ],
)
def test_bad_payments_are_a_400_with_the_field(world, finance, api_client_for, change, field):
    response = api_client_for(finance).post(url("payment"), body(world, **change), format="json")
    assert response.status_code == 400, response.json()
    assert any(name.startswith(field) for name in response.json()["fieldErrors"])
    assert not Payment.objects.exists()


def test_a_gateway_id_recorded_twice_is_a_400(world, finance, api_client_for):
    client = api_client_for(finance)
    assert client.post(url("payment"), body(world), format="json").status_code == 201
    response = client.post(url("payment"), body(world), format="json")
    assert response.status_code == 400 and "correlatorId" in response.json()["fieldErrors"]


def test_refund_and_return_through_the_api(world, finance, api_client_for):
    client = api_client_for(finance)
    payment = client.post(url("payment"), body(world), format="json").json()
    refund = client.post(url("refund"), {
        "payment": {"id": payment["id"]}, "totalAmount": {"unit": "EUR", "value": "20.00"},
        "reason": "double charge",
    }, format="json", HTTP_IDEMPOTENCY_KEY="r-1")  # fmt: skip
    assert refund.status_code == 201, refund.json()
    assert refund.json()["totalAmount"] == {"unit": "EUR", "value": "20.00"}
    assert Invoice.objects.get().status == InvoiceStatus.PARTIALLY_PAID
    too_much = client.post(url("refund"), {
        "payment": {"id": payment["id"]}, "totalAmount": {"unit": "EUR", "value": "50.01"},
        "reason": "x",
    }, format="json")  # fmt: skip
    assert too_much.status_code == 400 and "amount" in too_much.json()["fieldErrors"]
    returned = client.post(url(f"payment/{payment['id']}/return"), {"reasonCode": "MD06"},
                           format="json")  # fmt: skip
    assert returned.status_code == 200, returned.json()
    assert (returned.json()["status"], returned.json()["returnReason"]) == ("returned", "MD06")
    assert Invoice.objects.get().status == InvoiceStatus.ISSUED
    bad = client.post(url(f"payment/{payment['id']}/return"), {"reasonCode": "XX99"},
                      format="json")  # fmt: skip
    assert bad.status_code == 400 and "reasonCode" in bad.json()["fieldErrors"]


def test_a_bank_statement_is_uploaded_once(world, finance, api_client_for):
    client = api_client_for(finance)
    content = (DATA / "camt053_20261116.xml").read_bytes()

    def upload():
        from django.core.files.uploadedfile import SimpleUploadedFile

        return client.post(url("bankStatement"), {
            "brand": world.brand.pk,
            "file": SimpleUploadedFile("camt.xml", content, "application/xml"),
        }, format="multipart")  # fmt: skip

    first = upload()
    assert first.status_code == 201, first.json()
    assert first.json()["linesMatched"] == 1  # the invoice number; the rest are not this world's
    second = upload()
    assert second.status_code == 400 and "file" in second.json()["fieldErrors"]
    queue = client.get(url("bankStatementLine"), {"status": "unmatched"}).json()
    assert queue["count"] == 4
    line = queue["results"][1]
    discarded = client.post(url(f"bankStatementLine/{line['id']}/discard"), {"reason": "not ours"},
                            format="json")  # fmt: skip
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"


def test_a_mandate_and_aged_receivables_through_the_api(world, finance, api_client_for):
    client = api_client_for(finance)
    mandate = client.post(url("paymentMethod"), {
        "account": {"id": str(world.account.pk)}, "mandateReference": "M-1",
        "owner": "Anna Mueller", "iban": "DE02100100100006820101", "signatureDate": "2026-11-01",
    }, format="json")  # fmt: skip
    assert mandate.status_code == 201, mandate.json()
    assert (mandate.json()["type"], mandate.json()["sequenceType"]) == ("bankAccountDebit", "FRST")
    bad = client.post(url("paymentMethod"), {
        "account": {"id": str(world.account.pk)}, "mandateReference": "M-2",
        "owner": "Anna", "iban": "DE00", "signatureDate": "2026-11-01",
    }, format="json")  # fmt: skip
    assert bad.status_code == 400 and "iban" in bad.json()["fieldErrors"]
    aging = client.get(url("agedReceivables"), {"asOf": "2026-11-20"}).json()
    assert aging["totals"] == [{"currency": "EUR", "invoices": 1, "current": "0.00",
                                "d0_30": "0.00", "d31_60": "60.83", "d61_90": "0.00",
                                "d90_plus": "0.00", "total": "60.83"}]  # fmt: skip
    assert client.get(url("agedReceivables"), {"asOf": "soon"}).status_code == 400


def test_payments_of_other_brands_are_not_seen_or_written(world, finance, operator,
                                                          api_client_for):  # fmt: skip
    assert (
        api_client_for(finance).post(url("payment"), body(world), format="json").status_code == 201
    )
    assert api_client_for(operator).post(url("payment"), body(world, correlatorId="o"),
                                         format="json").status_code == 403  # fmt: skip
    other = world_build()
    BrandScope.objects.create(user=finance, brand=other.brand)
    client = api_client_for(finance)
    payment = Payment.objects.get()
    assert client.get(url("payment")).json()["count"] == 0
    assert client.get(url(f"payment/{payment.pk}")).status_code == 404
    refused = client.post(url("payment"), body(world, correlatorId="y"), format="json")
    assert refused.status_code == 400 and "account" in refused.json()["fieldErrors"]
    assert client.get(url("agedReceivables")).json()["totals"] == []
