"""The settlement's console pages and API for finance, on the golden October (R31, R32).

One world (the golden month, its HOSTNET statement and reconciliation) and every page and
operation a finance user takes: lists with their XLSX export, detail pages, a run started and
rerun, a statement issued and downloaded, a host network invoice uploaded, a dispute item
decided with its evidence, the margin page and its events; the API's reads and writes, with
field errors for bad input.
"""

from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from charging.services import usage_file_ingest
from invoicing.demo import invoice_profile_create
from settlement import services
from settlement.models import (
    Agreement,
    DisputeItem,
    DisputeStatus,
    SettlementRun,
    Statement,
    StatementStatus,
)

pytestmark = [pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "charging" / "samples"
PARTNER_INVOICE = ROOT / "settlement" / "samples" / "HOSTNET_invoice_2026-10.csv"


@pytest.fixture
def world(tmp_path, settings):
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    settings.MEDIA_ROOT = tmp_path
    catalog = build_golden_catalog()
    invoice_profile_create(catalog.brand)
    build_golden_subscribers(catalog)
    for name in ("CDR_HOSTNET_20261101000500_000001.csv", "CDR_HOSTNET_20261101001000_000002.csv"):
        usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
    partner = services.partner_save(
        brand=catalog.brand, code="HOSTNET", name="Host Network GmbH", kind="host_network",
        currency="EUR", host_network=catalog.host_network,
    )  # fmt: skip
    return catalog, partner


@time_machine.travel("2026-11-03 10:00:00+01:00", tick=False)
def test_finance_settles_in_the_console(
    world, finance, console_client_for, django_capture_on_commit_callbacks
):
    catalog, partner = world
    client = console_client_for(finance)

    for name in ("partner-list", "agreement-list", "run-list", "statement-list",
                 "reconciliation-list", "dispute-list", "margin"):  # fmt: skip
        response = client.get(reverse(f"settlement:{name}"))
        assert response.status_code == 200, name
    assert client.get(reverse("settlement:partner-list") + "?_export=xlsx").status_code == 200

    # A revenue-share agreement through the form.
    response = client.post(
        reverse("settlement:agreement-create"),
        {"partner": partner.pk, "code": "HOSTNET-WS", "name": "HOSTNET wholesale terms",
         "kind": "wholesale", "effective_from": "2026-01-01", "basis": "revenue",
         "percent": "0", "tolerance_amount": "0.01", "tolerance_percent": "0.5"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement = Agreement.objects.get(code="HOSTNET-WS")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("settlement:run-create"), {"partner": partner.pk, "year": 2026, "month": 10}
        )
    run = SettlementRun.objects.get()
    assert response.status_code == 302 and response.url == run.get_absolute_url()
    statement = Statement.objects.get(run=run)
    assert statement.total == Decimal("6.21")
    for url in (run.get_absolute_url(), statement.get_absolute_url(), partner.get_absolute_url(),
                agreement.get_absolute_url()):  # fmt: skip
        assert client.get(url).status_code == 200, url
    preview = client.get(reverse("settlement:statement-pdf", args=[statement.pk]))
    assert preview.status_code == 200 and preview.content.startswith(b"%PDF")

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("settlement:statement-issue", args=[statement.pk]))
    statement.refresh_from_db()
    assert statement.status == StatementStatus.ISSUED and statement.pdf
    pdf = client.get(reverse("settlement:statement-pdf", args=[statement.pk]))
    assert pdf.content.startswith(b"%PDF")

    with PARTNER_INVOICE.open("rb") as upload:
        response = client.post(
            reverse("settlement:reconciliation-create"), {"partner": partner.pk, "file": upload}
        )
    assert response.status_code == 302
    dispute = DisputeItem.objects.get()
    assert client.get(response.url).status_code == 200
    page = client.get(dispute.get_absolute_url())
    assert page.status_code == 200 and b"A9" in page.content
    evidence = client.get(reverse("settlement:dispute-evidence", args=[dispute.pk]))
    assert b"A9" in evidence.content and b"3.000002" in evidence.content
    xlsx = client.get(reverse("settlement:dispute-evidence", args=[dispute.pk]) + "?format=xlsx")
    assert xlsx.content.startswith(b"PK")
    response = client.post(
        reverse("settlement:dispute-decide", args=[dispute.pk]), {"status": "accepted"}
    )
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.ACCEPTED

    # A bad upload is an error on the form, nothing kept.
    response = client.post(
        reverse("settlement:reconciliation-create"),
        {"partner": partner.pk, "file": _upload(b"period,service\n2026-10,DATA\n")},
    )
    assert response.status_code == 200 and b"missing columns" in response.content

    margin = client.get(reverse("settlement:margin") + "?year=2026&month=10&dimension=partner")
    assert margin.status_code == 200 and b"HOSTNET" in margin.content
    events = client.get(
        reverse("settlement:margin-events") + "?dimension=partner&key=HOSTNET&year=2026&month=10"
    )
    assert events.status_code == 200 and b"A9" in events.content


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("bad.csv", content, content_type="text/csv")


@time_machine.travel("2026-11-03 10:00:00+01:00", tick=False)
def test_api_reads_and_writes_with_field_errors(
    world, finance, api_client_for, django_capture_on_commit_callbacks
):
    catalog, partner = world
    client = api_client_for(finance)
    base = "/api/v1/settlement"

    bad = client.post(f"{base}/settlementRun", {"partner": "HOSTNET", "year": 2026, "month": 13},
                      format="json")  # fmt: skip
    assert bad.status_code == 400 and "month" in bad.json()["fieldErrors"]
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            f"{base}/settlementRun", {"partner": "HOSTNET", "year": 2026, "month": 10},
            format="json",
        )  # fmt: skip
    assert created.status_code == 202
    bills = client.get(f"{base}/partnerBill").json()
    bill = bills["results"][0] if isinstance(bills, dict) else bills[0]
    assert bill["amountDue"] == {"unit": "EUR", "value": "6.21"}
    assert bill["exactAmount"]["value"] == "6.214176"
    with django_capture_on_commit_callbacks(execute=True):
        issued = client.post(f"{base}/partnerBill/{bill['id']}/issue")
    assert issued.status_code == 200 and issued.json()["billNo"] == "ST-HOSTNET-202610"
    document = client.get(f"{base}/partnerBill/{bill['id']}/document")
    assert document.status_code == 200 and document.content.startswith(b"%PDF")

    agreement = client.post(
        f"{base}/agreement",
        {"partner": "HOSTNET", "code": "X", "name": "x", "agreementType": "revenue_share",
         "startDate": "2026-01-01", "tiers": [{"from": "5", "percent": "1"}]},
        format="json",
    )  # fmt: skip
    assert agreement.status_code == 400 and "tiers" in agreement.json()["fieldErrors"]

    reconciled = client.post(
        f"{base}/reconciliation",
        {"partner": "HOSTNET", "content": PARTNER_INVOICE.read_text()},
        format="json",
    )
    assert reconciled.status_code == 201 and reconciled.json()["linesMatched"] == 7
    (item,) = client.get(f"{base}/disputeItem").json()["results"]
    decided = client.post(
        f"{base}/disputeItem/{item['id']}/decide", {"state": "open"}, format="json"
    )
    assert decided.status_code == 400
    decided = client.post(
        f"{base}/disputeItem/{item['id']}/decide", {"state": "rejected"}, format="json"
    )
    assert decided.status_code == 200 and decided.json()["state"] == "rejected"
    evidence = client.get(f"{base}/disputeItem/{item['id']}/evidence")
    assert b"A9" in evidence.content

    margin = client.get(f"{base}/margin?year=2026&month=10&dimension=plan")
    assert margin.status_code == 200
    assert margin.json()[0]["wholesale"] == "5.314176"
    assert client.get(f"{base}/margin?year=x&month=10").status_code == 400
