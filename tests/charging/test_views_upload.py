"""Uploading usage files through the console, on a database without usage yet.

Apart from test_views.py, whose module-wide golden usage would be visible to these tests when
the suite runs in a random order.
"""

import gzip

import pytest

from charging.models import FileStatus, UsageEvent, UsageFile
from tests.charging.test_views import FILE_1, SAMPLES, messages_of, upload, url

pytestmark = pytest.mark.django_db


def test_operator_uploads_file_1_and_it_is_processed_after_commit(
    golden_subscribers, operator, console_client_for, django_capture_on_commit_callbacks
):
    client = console_client_for(operator)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url("usagefile-create"), {"file": upload(FILE_1)})
    assert len(callbacks) == 1
    usage_file = UsageFile.objects.get(name=FILE_1)
    assert response.status_code == 302
    assert response["Location"] == url("usagefile-detail", usage_file.pk)
    assert usage_file.origin == "upload" and usage_file.received_by == operator
    page = client.get(response["Location"])
    body = page.content.decode()
    assert 'id="file-status">processed<' in body
    assert 'id="count-read">16<' in body and 'id="count-accepted">14<' in body
    assert 'id="count-rejected">2<' in body and 'id="count-duplicates">0<' in body
    assert "UNKNOWN_SUBSCRIBER" in body and "INACTIVE_SUBSCRIPTION" in body
    assert 'http-equiv="refresh"' not in body


def test_a_file_still_processing_refreshes_its_page(
    golden_subscribers, operator, console_client_for
):
    client = console_client_for(operator)
    response = client.post(url("usagefile-create"), {"file": upload(FILE_1)})
    usage_file = UsageFile.objects.get(name=FILE_1)
    assert usage_file.status == FileStatus.PROCESSING  # the task waits for the commit
    assert messages_of(response) == [f"{FILE_1} received; its status and counts are below."]
    body = client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in body


def test_a_gzip_file_uploaded_is_read_and_its_lines_explained(
    golden_subscribers, operator, console_client_for, django_capture_on_commit_callbacks
):
    packed = gzip.compress((SAMPLES / FILE_1).read_bytes())
    client = console_client_for(operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("usagefile-create"), {"file": upload(f"{FILE_1}.gz", packed)})
    usage_file = UsageFile.objects.get()
    assert (usage_file.name, usage_file.status) == (f"{FILE_1}.gz", FileStatus.PROCESSED)
    assert (usage_file.records_read, usage_file.records_accepted) == (16, 14)
    a3 = UsageEvent.objects.get(record_id="A3")
    explanation = client.get(url("usageevent-detail", a3.pk)).context["explanation"]
    assert explanation.raw_line == (
        "A3,MOC,4915112340001,262031234500001,20261007213000,+0200,30,12125550100,,,,26203,NORMAL,"
    )
    download = client.get(url("usagefile-download", usage_file.pk))
    assert b"".join(download.streaming_content) == packed


def test_upload_of_a_badly_named_file_is_a_form_error(operator, console_client_for):
    response = console_client_for(operator).post(
        url("usagefile-create"), {"file": upload("usage.csv", b"record_id\n")}
    )
    assert response.status_code == 200
    assert "does not follow CDR_&lt;SOURCE&gt;" in response.content.decode()
    assert not UsageFile.objects.exists()


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_only_operators_upload_usage_files(role, role_users, console_client_for):
    client = console_client_for(role_users[role])
    assert client.get(url("usagefile-create")).status_code == 403
    assert client.post(url("usagefile-create"), {"file": upload(FILE_1)}).status_code == 403
    assert not UsageFile.objects.exists()
