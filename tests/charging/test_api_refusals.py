"""The charging REST API before any usage: refusals before anything is read.

Apart from test_api.py, whose module-wide golden usage would be visible to these tests when the
suite runs in a random order.
"""

import pytest
from rest_framework.test import APIClient

from charging.models import RerateJob, UsageFile
from tests.charging.test_api import A3_RECORD, API, FILE_1, OCTOBER, batch, post_file

pytestmark = pytest.mark.django_db


def test_a_badly_named_file_is_a_400_naming_the_field(operator, api_client_for):
    response = post_file(api_client_for(operator), "usage.csv", b"record_id\n")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "INVALID"
    assert "does not follow CDR_<SOURCE>" in body["fieldErrors"]["file"][0]
    assert not UsageFile.objects.exists()


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_only_operators_and_admins_send_usage(role, role_users, api_client_for):
    client = api_client_for(role_users[role])
    assert post_file(client, FILE_1).status_code == 403
    assert client.post(f"{API}/usage", batch(A3_RECORD)).status_code == 403
    rerate = {**OCTOBER, "reason": "x"}
    assert client.post(f"{API}/ratingError/rerate", rerate).status_code == 403
    assert client.post(f"{API}/rerateJob", {**rerate, "scope": "period"}).status_code == 403
    assert not UsageFile.objects.exists() and not RerateJob.objects.exists()


def test_anonymous_callers_are_told_to_authenticate():
    client = APIClient()
    for path in ("usageFile", "usage", "ratingError", "rejectedRecord", "rerateJob"):
        response = client.get(f"{API}/{path}")
        assert response.status_code == 401, path
        assert response.json()["@type"] == "Error"
    assert client.post(f"{API}/usage", batch(A3_RECORD), format="json").status_code == 401
