"""The invoicing API (TMF678): bills and their lines, bill cycles and runs, actions, roles,
brand scoping, idempotent money POSTs, errors as 4xx."""

import datetime as dt

import pytest
import time_machine

from invoicing.models import BillRun, Invoice, InvoiceStatus
from subscribers.models import BrandScope
from tests.invoicing.builders import account_add, plan_add, run_bill, subscription_add, world_build

pytestmark = pytest.mark.django_db
NOW = "2026-11-02 09:00:00+01:00"


@pytest.fixture
def world():
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    account = account_add(world)
    subscription_add(world, account, "ADV", active_from=dt.date(2026, 10, 1))
    return world


@pytest.fixture
def draft(world):
    run_bill(world, 2026, 10)
    return Invoice.objects.get()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def url(path: str) -> str:
    return f"/api/v1/invoicing/{path}"


def test_a_bill_reads_as_a_tmf678_customer_bill_with_its_lines(draft, auditor, api_client_for):
    client = api_client_for(auditor)
    body = client.get(url(f"customerBill/{draft.pk}")).json()
    assert body["@type"] == "CustomerBill" and body["id"] == str(draft.pk)
    assert (body["category"], body["state"], body["billNo"]) == ("normal", "new", "")
    assert body["taxExcludedAmount"] == {"unit": "EUR", "value": "60.00"}
    assert body["taxIncludedAmount"] == {"unit": "EUR", "value": "71.40"}
    assert body["taxItem"][0]["taxAmount"] == {"unit": "EUR", "value": "11.40"}
    assert body["amountDue"] is None
    lines = client.get(body["appliedCustomerBillingRate"]).json()
    assert lines["count"] == 2
    first = lines["results"][0]
    assert first["@type"] == "AppliedCustomerBillingRate"
    assert first["amount"] == {"unit": "EUR", "value": "30.00"}
    assert first["periodCoverage"] == {"startDateTime": "2026-10-01", "endDateTime": "2026-11-01"}
    listed = client.get(url("customerBill"), {"status": "draft", "category": "normal"}).json()
    assert listed["count"] == 1


@time_machine.travel(NOW, tick=False)
def test_finance_issues_credits_and_voids_through_the_api(draft, finance, api_client_for):
    client = api_client_for(finance)
    issued = client.post(url(f"customerBill/{draft.pk}/issue"), HTTP_IDEMPOTENCY_KEY="i-1")
    assert issued.status_code == 200, issued.json()
    assert (issued.json()["billNo"], issued.json()["state"]) == ("INV-2026-000001", "sent")
    assert issued.json()["amountDue"] == {"unit": "EUR", "value": "71.40"}
    replay = client.post(url(f"customerBill/{draft.pk}/issue"), HTTP_IDEMPOTENCY_KEY="i-1")
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"

    credit = {"reason": "outage", "amount": {"unit": "EUR", "value": "10.00"}}
    note = client.post(url(f"customerBill/{draft.pk}/creditNote"), credit, format="json",
                       HTTP_IDEMPOTENCY_KEY="c-1")  # fmt: skip
    assert note.status_code == 201, note.json()
    assert note.json()["category"] == "creditNote"
    assert note.json()["taxIncludedAmount"] == {"unit": "EUR", "value": "-11.90"}
    again = client.post(url(f"customerBill/{draft.pk}/creditNote"), credit, format="json",
                        HTTP_IDEMPOTENCY_KEY="c-1")  # fmt: skip
    assert again.json()["id"] == note.json()["id"]
    assert Invoice.objects.filter(kind="credit_note").count() == 1

    wrong = client.post(url(f"customerBill/{draft.pk}/creditNote"),
                        {"reason": "x", "amount": {"unit": "GBP", "value": "1.00"}},
                        format="json")  # fmt: skip
    assert wrong.status_code == 400 and "amount.unit" in wrong.json()["fieldErrors"]
    too_much = client.post(url(f"customerBill/{draft.pk}/creditNote"),
                           {"reason": "x", "amount": {"unit": "EUR", "value": "999.00"}},
                           format="json")  # fmt: skip
    assert too_much.status_code == 400 and "amount" in too_much.json()["fieldErrors"]


@time_machine.travel(NOW, tick=False)
def test_a_draft_cannot_be_voided_and_an_issued_bill_cannot_be_issued(
    draft, finance, api_client_for
):
    client = api_client_for(finance)
    voided = client.post(url(f"customerBill/{draft.pk}/void"), {"reason": "x"}, format="json")
    assert voided.status_code == 400
    assert client.post(url(f"customerBill/{draft.pk}/issue")).status_code == 200
    assert client.post(url(f"customerBill/{draft.pk}/issue")).status_code == 400
    assert client.post(url(f"customerBill/{draft.pk}/void"), {}, format="json").status_code == 400
    ok = client.post(url(f"customerBill/{draft.pk}/void"), {"reason": "wrong"}, format="json")
    assert ok.json()["state"] == "void" and ok.json()["billNo"] == "INV-2026-000001"


def test_exclude_include_and_regenerate_a_draft(draft, finance, api_client_for):
    client = api_client_for(finance)
    assert client.post(url(f"customerBill/{draft.pk}/exclude")).json()["status"] == "excluded"
    assert client.post(url(f"customerBill/{draft.pk}/include")).json()["status"] == "draft"
    regenerated = client.post(url(f"customerBill/{draft.pk}/regenerate"))
    assert regenerated.status_code == 200
    assert regenerated.json()["id"] != str(draft.pk)


def test_readers_cannot_act(draft, operator, auditor, api_client_for):
    for user in (operator, auditor):
        response = api_client_for(user).post(url(f"customerBill/{draft.pk}/issue"))
        assert response.status_code == 403
    assert Invoice.objects.get().status == InvoiceStatus.DRAFT


def test_bills_of_other_brands_are_not_seen(draft, finance, api_client_for):
    other = world_build()
    BrandScope.objects.create(user=finance, brand=other.brand)
    client = api_client_for(finance)
    assert client.get(url("customerBill")).json()["count"] == 0
    assert client.get(url(f"customerBill/{draft.pk}")).status_code == 404
    assert client.post(url(f"customerBill/{draft.pk}/issue")).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_a_bill_run_is_started_followed_and_issued(world, finance, api_client_for,
                                                   django_capture_on_commit_callbacks):  # fmt: skip
    client = api_client_for(finance)
    cycle = client.post(url("billCycle"), {"brand": {"id": world.brand.pk},
                                           "billingDateShift": 1}, format="json")  # fmt: skip
    assert cycle.status_code == 201, cycle.json()
    with django_capture_on_commit_callbacks(execute=True):
        body = {"billCycle": {"id": cycle.json()["id"]}, "year": 2026, "month": 10}
        started = client.post(url("billRun"), body, format="json")
    assert started.status_code == 202, started.json()
    run = client.get(url(f"billRun/{started.json()['id']}")).json()
    assert (run["status"], run["accountsTotal"], run["accountsDone"], run["progress"]) == (
        "drafted", 1, 1, 100
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        issued = client.post(url(f"billRun/{run['id']}/issue"))
    assert issued.status_code == 202
    assert BillRun.objects.get().status == "issued"
    bill = client.get(url("customerBill")).json()["results"][0]
    assert bill["billNo"] == "INV-2026-000001"
    assert bill["billDocument"][0]["mimeType"] == "application/pdf"
    pdf = client.get(bill["billDocument"][0]["url"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")


def test_bad_bill_run_input_is_a_400_with_field_errors(world, finance, api_client_for):
    client = api_client_for(finance)
    response = client.post(url("billRun"), {"billCycle": {"id": "999999"}, "year": 1900,
                                            "month": 13}, format="json")  # fmt: skip
    assert response.status_code == 400
    assert set(response.json()["fieldErrors"]) == {"billCycle", "year", "month"}
