"""Dunning in the console and the API (R30): policies with their steps, the dunning list with
its filters and XLSX export, an invoice's dunning history, pause and resume with a reason
(audited), running the dunning now; the API reads cases and policies, pauses and resumes, and
answers bad input with 4xx field errors; another brand sees nothing."""

import datetime as dt
import io

import pytest
import time_machine
from openpyxl import load_workbook

from catalog.models import BrandScope
from invoicing import dunning
from invoicing.models import DunningCase, DunningHold, DunningPolicy, DunningStep
from tests.invoicing.builders import plan_add, world_build
from tests.invoicing.test_dunning import STEPS, issued_invoices, run_on

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_documents(monkeypatch):
    from invoicing import services

    monkeypatch.setattr(services, "invoices_issued_publish", lambda **kwargs: None)


@pytest.fixture
def world(db):
    world = world_build()
    plan_add(world, "ADV", fee="30.00")
    world.policy = dunning.dunning_policy_save(
        brand=world.brand, code="STD", name="Standard", steps=STEPS, is_default=True
    )
    return world


@pytest.fixture
def barred(world):
    """One account whose October invoice is overdue: reminded, noticed and barred."""
    (account,), (invoice,) = issued_invoices(world)
    run_on("2026-11-30")
    return account, invoice


def url(path: str) -> str:
    return f"/api/v1/invoicing/{path}"


def test_finance_creates_a_policy_with_its_steps_in_the_console(world, finance, console_client_for):
    client = console_client_for(finance)
    assert client.get("/invoicing/dunning/policies/new/").status_code == 200
    form = {
        "brand": world.brand.pk,
        "code": "soft",
        "name": "Soft",
        "is_default": "",
        "steps-TOTAL_FORMS": "3",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "12",
        "steps-0-action": "reminder",
        "steps-0-days_after_due": "5",
        "steps-1-action": "bar_outgoing",
        "steps-1-days_after_due": "21",
        "steps-2-action": "",
        "steps-2-days_after_due": "",
    }
    response = client.post("/invoicing/dunning/policies/new/", form)
    policy = DunningPolicy.objects.get(code="SOFT")
    assert response.status_code == 302 and response["Location"] == policy.get_absolute_url()
    assert [(s.action, s.days_after_due) for s in policy.steps.order_by("position")] == [
        ("reminder", 5),
        ("bar_outgoing", 21),
    ]
    page = client.get(policy.get_absolute_url()).content.decode()
    assert "bar outgoing services" in page and "21" in page

    # Steps out of order are refused on the form, nothing changes.
    form.update({"steps-1-days_after_due": "2"})
    refused = client.post(f"/invoicing/dunning/policies/{policy.pk}/edit/", form)
    assert refused.status_code == 200 and "follow each other" in refused.content.decode()
    assert policy.steps.get(position=2).days_after_due == 21
    # A step with an action but no days is refused too.
    form.update({"steps-1-days_after_due": ""})
    refused = client.post(f"/invoicing/dunning/policies/{policy.pk}/edit/", form)
    assert "its action and its days" in refused.content.decode()


def test_an_operator_reads_policies_but_cannot_change_them(world, operator, console_client_for):
    client = console_client_for(operator)
    assert client.get("/invoicing/dunning/policies/").status_code == 200
    assert client.get(f"/invoicing/dunning/policies/{world.policy.pk}/edit/").status_code == 403
    assert client.post("/invoicing/dunning/run/").status_code == 403


def test_the_dunning_list_shows_current_and_next_steps_and_exports_typed_xlsx(
    barred, finance, console_client_for
):
    account, invoice = barred
    client = console_client_for(finance)
    with time_machine.travel("2026-12-01 10:00:00+01:00", tick=False):
        page = client.get("/invoicing/dunning/")
        export = client.get("/invoicing/dunning/", {"status": "open", "_export": "xlsx"})
    text = page.content.decode()
    assert invoice.number in text and "bar outgoing services after 14 days" in text.lower()
    assert "2026-12-16" in text  # the termination's day
    assert (
        client.get("/invoicing/dunning/", {"next_step": "reminder"}).context["table"].rows.__len__()
        == 0
    )
    sheet = load_workbook(io.BytesIO(b"".join(export.streaming_content))).active
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert row["Invoice"] == invoice.number
    assert row["Days overdue"] == 15 and isinstance(row["Days overdue"], int)
    assert row["Gross"] == 142.8  # a number cell, not text
    assert row["Due"] == dt.datetime(2026, 11, 16)  # a date cell
    assert row["Next step on"] == dt.datetime(2026, 12, 16)


def test_the_invoice_page_shows_its_dunning_history(barred, auditor, console_client_for):
    account, invoice = barred
    text = console_client_for(auditor).get(invoice.get_absolute_url()).content.decode()
    assert 'id="dunning-history"' in text
    assert "Reminder" in text and "Final notice" in text and "Bar outgoing services" in text
    number = account.subscriptions.first().msisdn
    assert f"+{number}" in text
    assert "Next step: <strong>Terminate after 30 days</strong> on 2026-12-16" in text


def test_finance_pauses_and_resumes_an_accounts_dunning_with_a_reason(
    barred, finance, console_client_for
):
    account, invoice = barred
    client = console_client_for(finance)
    page = client.get(account.get_absolute_url()).content.decode()
    assert f"/invoicing/dunning/accounts/{account.pk}/pause/" in page  # the account's panel
    empty = client.post(f"/invoicing/dunning/accounts/{account.pk}/pause/", {"reason": ""})
    assert empty.status_code == 200 and not DunningHold.objects.exists()
    client.post(f"/invoicing/dunning/accounts/{account.pk}/pause/", {"reason": "promise to pay"})
    hold = DunningHold.objects.get()
    assert (hold.reason, hold.paused_by, hold.history.first().history_user) == (
        "promise to pay",
        finance,
        finance,
    )
    assert "paused" in client.get(invoice.get_absolute_url()).content.decode()

    assert run_on("2026-12-20")["steps"] == 0  # terminate was due on the 16th: paused
    client.post(f"/invoicing/dunning/pauses/{hold.pk}/resume/", {"reason": "no payment came"})
    hold.refresh_from_db()
    assert hold.resume_reason == "no payment came" and hold.resumed_by == finance
    assert hold.history.count() == 2


def test_finance_runs_the_dunning_now(world, finance, console_client_for):
    issued_invoices(world)
    client = console_client_for(finance)
    with time_machine.travel("2026-11-20 10:00:00+01:00", tick=False):
        assert client.get("/invoicing/dunning/run/").status_code == 200
        response = client.post("/invoicing/dunning/run/")
    assert response.status_code == 302
    case = DunningCase.objects.get()  # the task ran eagerly: opened and reminded
    assert case.last_step.action == "reminder"


def test_the_api_reads_cases_with_their_records_and_policies(barred, auditor, api_client_for):
    account, invoice = barred
    client = api_client_for(auditor)
    case = DunningCase.objects.get()
    listed = client.get(url("dunningCase"), {"status": "open"}).json()["results"]
    assert [row["id"] for row in listed] == [str(case.pk)]
    assert client.get(url("dunningCase"), {"status": "closed"}).json()["results"] == []
    body = client.get(url(f"dunningCase/{case.pk}")).json()
    assert body["@type"] == "DunningCase" and body["bill"]["name"] == invoice.number
    assert body["amountDue"] == {"unit": "EUR", "value": "142.80"}
    assert body["currentStep"] == {"position": 3, "action": "bar_outgoing", "daysAfterDue": 14}
    assert (body["nextStep"]["action"], body["nextStepDate"]) == ("terminate", "2026-12-16")
    assert [r["action"] for r in body["record"]] == ["reminder", "final_notice", "bar_outgoing"]
    policy = client.get(url(f"dunningPolicy/{case.policy_id}")).json()
    assert [s["daysAfterDue"] for s in policy["step"]] == [3, 10, 14, 30]


def test_the_api_pauses_and_resumes_with_field_errors_for_bad_input(
    barred, finance, api_client_for
):
    account, _ = barred
    client = api_client_for(finance)
    missing = client.post(url("dunningPause"), {}, format="json")
    assert missing.status_code == 400
    assert set(missing.json()["fieldErrors"]) == {"billingAccount", "reason"}
    unknown = client.post(
        url("dunningPause"), {"billingAccount": {"id": "999999"}, "reason": "x"}, format="json"
    )
    assert unknown.status_code == 400 and "billingAccount" in unknown.json()["fieldErrors"]
    blank = client.post(
        url("dunningPause"),
        {"billingAccount": {"id": str(account.pk)}, "reason": "  "},
        format="json",
    )
    assert blank.status_code == 400 and "reason" in blank.json()["fieldErrors"]

    paused = client.post(
        url("dunningPause"),
        {"billingAccount": {"id": str(account.pk)}, "reason": "dispute"},
        format="json",
    )
    assert paused.status_code == 201 and paused.json()["active"] is True
    again = client.post(
        url("dunningPause"),
        {"billingAccount": {"id": str(account.pk)}, "reason": "dispute"},
        format="json",
    )
    assert again.status_code == 400 and "billingAccount" in again.json()["fieldErrors"]
    hold_id = paused.json()["id"]
    no_reason = client.post(url(f"dunningPause/{hold_id}/resume"), {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["fieldErrors"]
    resumed = client.post(
        url(f"dunningPause/{hold_id}/resume"), {"reason": "rejected"}, format="json"
    )
    assert resumed.status_code == 200 and resumed.json()["active"] is False
    twice = client.post(url(f"dunningPause/{hold_id}/resume"), {"reason": "again"}, format="json")
    assert twice.status_code == 400 and "status" in twice.json()["fieldErrors"]


def test_an_operator_may_not_pause_through_the_api(barred, operator, api_client_for):
    account, _ = barred
    response = api_client_for(operator).post(
        url("dunningPause"),
        {"billingAccount": {"id": str(account.pk)}, "reason": "x"},
        format="json",
    )
    assert response.status_code == 403 and not DunningHold.objects.exists()


def test_another_brands_finance_sees_no_dunning(
    barred, make_user, api_client_for, console_client_for
):
    account, invoice = barred
    other = world_build()
    user = make_user("other-finance", "finance")
    BrandScope.objects.create(user=user, brand=other.brand)
    case = DunningCase.objects.get()
    api = api_client_for(user)
    assert api.get(url(f"dunningCase/{case.pk}")).status_code == 404
    assert api.get(url(f"dunningPolicy/{case.policy_id}")).status_code == 404
    assert api.get(url("dunningCase")).json()["results"] == []
    refused = api.post(
        url("dunningPause"),
        {"billingAccount": {"id": str(account.pk)}, "reason": "x"},
        format="json",
    )
    assert refused.status_code == 400 and "billingAccount" in refused.json()["fieldErrors"]
    console = console_client_for(user)
    assert console.get(f"/invoicing/dunning/accounts/{account.pk}/pause/").status_code == 404
    assert invoice.number not in console.get("/invoicing/dunning/").content.decode()
    assert DunningStep.objects.count() == 4
