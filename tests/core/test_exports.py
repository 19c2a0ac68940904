"""Every console list exports what it shows: CSV as shown, XLSX with typed cells."""

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from charging.models import UsageEvent
from charging.services import usage_file_ingest

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"


@pytest.fixture
def usage(golden_subscribers):
    usage_file_ingest(name=FILE_1, content=(SAMPLES / FILE_1).read_bytes(), origin="command")
    return golden_subscribers


def _xlsx(response):
    body = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    return rows[0], rows[1:]


def test_the_usage_list_exports_xlsx_with_numbers_and_times_typed(
    usage, auditor, console_client_for
):
    client = console_client_for(auditor)
    response = client.get(
        reverse("charging:usageevent-list"), {"record_id": "A3", "_export": "xlsx"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].endswith('.xlsx"')
    header, rows = _xlsx(response)
    assert header[0] == "Start (Europe/Berlin)"
    assert len(rows) == 1
    a3 = dict(zip(header, rows[0], strict=True))
    assert a3["Start (Europe/Berlin)"] == dt.datetime(2026, 10, 7, 21, 30)  # local, as shown
    assert a3["Retail (6 dp)"] == pytest.approx(1.14) and isinstance(
        a3["Retail (6 dp)"], float | int
    )
    assert a3["MSISDN"] == "+4915112340001"  # a number that is not an amount stays text
    assert a3["Record"] == "A3"


def test_xlsx_holds_the_same_rows_as_the_csv_in_the_same_order(usage, auditor, console_client_for):
    client = console_client_for(auditor)
    url = reverse("charging:usageevent-list")
    csv_response = client.get(url, {"sort": "record_id", "_export": "csv"})
    csv_rows = list(csv.reader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    header, rows = _xlsx(client.get(url, {"sort": "record_id", "_export": "xlsx"}))
    assert len(rows) == len(csv_rows) - 1 == UsageEvent.objects.count()
    record = header.index("Record")
    assert [row[record] for row in rows] == [row[record] for row in csv_rows[1:]]
    retail = header.index("Retail (6 dp)")
    total = sum(Decimal(str(row[retail])) for row in rows if row[retail] is not None)
    assert total == sum(Decimal(row[retail]) for row in csv_rows[1:] if row[retail] != "—")


def test_csv_writes_empty_cells_never_none(golden_subscribers, auditor, console_client_for):
    response = console_client_for(auditor).get(
        reverse("subscribers:subscription-list"), {"_export": "csv"}
    )
    body = b"".join(response.streaming_content).decode()
    assert "None" not in body
    assert "True" not in body and "False" not in body


def test_every_list_page_offers_both_exports(golden_subscribers, auditor, console_client_for):
    body = console_client_for(auditor).get(reverse("subscribers:customer-list")).content.decode()
    assert "_export=csv" in body and "_export=xlsx" in body
