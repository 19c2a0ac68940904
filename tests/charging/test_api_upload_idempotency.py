"""An upload's Idempotency-Key covers the file's bytes, not only its name."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from charging.models import UsageFile

pytestmark = pytest.mark.django_db

API = "/api/v1/charging/usageFile"
SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"


def post(client, content: bytes, key: str):
    upload = SimpleUploadedFile(FILE_1, content, "text/csv")
    return client.post(API, {"file": upload}, format="multipart", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_name_with_other_bytes_is_a_409_never_a_silent_replay(
    golden_catalog, api_client_for, operator
):
    client = api_client_for(operator)
    content = (SAMPLES / FILE_1).read_bytes()
    other = content.replace(b"A1,MOC", b"Z1,MOC", 1)
    assert other != content

    first = post(client, content, "upload-1")
    again = post(client, content, "upload-1")
    changed = post(client, other, "upload-1")

    assert first.status_code == 202
    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert changed.status_code == 409
    assert changed.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert UsageFile.objects.count() == 1


def test_other_bytes_under_a_new_key_are_received(golden_catalog, api_client_for, operator):
    client = api_client_for(operator)
    content = (SAMPLES / FILE_1).read_bytes()
    post(client, content, "upload-2")
    other = post(client, content.replace(b"A1,MOC", b"Z1,MOC", 1), "upload-3")
    assert other.status_code == 202
    assert UsageFile.objects.count() == 2
