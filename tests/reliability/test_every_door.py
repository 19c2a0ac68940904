"""Same input, same outcome on every door; a stored file gone missing is an answer, not a 500."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from charging.models import FileStatus, UsageFile

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"
EMPTY = "CDR_HOSTNET_20261101010000_000009.csv"


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, "text/csv")


def test_an_empty_file_is_kept_and_quarantined_by_the_api(
    golden_subscribers, operator, api_client_for
):
    response = api_client_for(operator).post(
        "/api/v1/charging/usageFile", {"file": _upload(EMPTY, b"")}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "quarantined"
    assert UsageFile.objects.get(name=EMPTY).status == FileStatus.QUARANTINED


def test_an_empty_file_is_kept_and_quarantined_by_the_console(
    golden_subscribers, operator, console_client_for
):
    response = console_client_for(operator).post(
        reverse("charging:usagefile-create"), {"file": _upload(EMPTY, b"")}
    )
    assert response.status_code == 302
    assert UsageFile.objects.get(name=EMPTY).status == FileStatus.QUARANTINED


def test_an_empty_file_is_kept_and_quarantined_by_the_command_line(golden_subscribers, tmp_path):
    (tmp_path / EMPTY).write_bytes(b"")
    with pytest.raises(CommandError) as refused:
        call_command("import_cdr", str(tmp_path / EMPTY), stdout=StringIO())
    assert refused.value.returncode == 4
    assert UsageFile.objects.get(name=EMPTY).status == FileStatus.QUARANTINED


@pytest.fixture
def lost_file(golden_subscribers, tmp_path):
    """File 1 ingested, then its stored copy removed from storage behind the product's back."""
    call_command("import_cdr", str(SAMPLES / FILE_1), stdout=StringIO())
    usage_file = UsageFile.objects.get(name=FILE_1)
    Path(usage_file.content.path).unlink()
    return usage_file


def test_a_lost_stored_file_is_a_410_with_its_reason_in_the_api(lost_file, auditor, api_client_for):
    response = api_client_for(auditor).get(f"/api/v1/charging/usageFile/{lost_file.pk}/content")
    assert response.status_code == 410
    body = response.json()
    assert body["code"] == "CONTENT_MISSING"
    assert "cannot be read from storage" in body["message"]


def test_a_lost_stored_file_sends_the_console_back_to_its_page_with_the_reason(
    lost_file, auditor, console_client_for
):
    client = console_client_for(auditor)
    response = client.get(reverse("charging:usagefile-download", args=[lost_file.pk]))
    assert response.status_code == 302
    assert response["Location"] == lost_file.get_absolute_url()
    page = client.get(response["Location"])
    assert "cannot be read from storage" in page.content.decode()
