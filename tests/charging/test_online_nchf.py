"""The 5G CHF front door (Nchf_ConvergedCharging, TS 32.291) end to end over HTTP."""

import datetime as dt
import json
from decimal import Decimal

import pytest
import time_machine

from charging.models import UsageEvent
from charging.online.models import ChargingSession
from charging.online.services import charging_client_create, reservations_expire
from subscribers.services import balance_of
from tests.charging.online_builders import MB, build_online_catalogue, online_subscriber

pytestmark = pytest.mark.django_db
NOON = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)
BASE = "/nchf-convergedcharging/v3/chargingdata"


@pytest.fixture
def setup():
    with time_machine.travel(NOON, tick=False) as clock:
        catalogue = build_online_catalogue()
        subscription = online_subscriber(
            catalogue, plan_code="PRE-10", msisdn="4915100000001", imsi="262030000000001"
        )
        _client, token = charging_client_create(
            host_network=catalogue.golden.host_network, name="smf-1"
        )
        yield catalogue, subscription, token, clock


def post(client, url, body, token):
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip


def data_create(charging_id=7001, volume=200 * MB, subscriber="msisdn-4915100000001"):
    return {
        "subscriberIdentifier": subscriber,
        "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": "smf-1"},
        "invocationTimeStamp": "2026-10-15T12:00:00Z",
        "invocationSequenceNumber": 0,
        "pDUSessionChargingInformation": {
            "chargingId": charging_id,
            "pduSessionInformation": {
                "dnnId": "internet",
                "servingCNPlmnId": {"mcc": "262", "mnc": "03"},
            },
        },  # fmt: skip
        "multipleUnitUsage": [{"ratingGroup": 10, "requestedUnit": {"totalVolume": volume}}],
    }


def test_a_data_session_is_created_updated_and_released(client, setup):
    catalogue, subscription, token, _ = setup
    created = post(client, BASE, data_create(), token)
    assert created.status_code == 201
    body = created.json()
    unit = body["multipleUnitInformation"][0]
    assert unit["resultCode"] == "SUCCESS"
    assert unit["grantedUnit"] == {"totalVolume": 200 * MB}
    assert unit["validityTime"] == 300
    assert {t["triggerType"] for t in unit["triggers"]} == {"QUOTA_EXHAUSTED", "VALIDITY_TIME"}
    location = created["Location"]
    reference = location.rsplit("/", 1)[1]
    assert location.endswith(f"{BASE}/{reference}")
    update = {"invocationSequenceNumber": 1, "multipleUnitUsage": [{
        "ratingGroup": 10, "requestedUnit": {"totalVolume": 900 * MB},
        "usedUnitContainer": [{"uplinkVolume": 50 * MB, "downlinkVolume": 150 * MB}]}]}  # fmt: skip
    updated = post(client, f"{BASE}/{reference}/update", update, token)
    assert updated.status_code == 200
    # 1 GB of allowance: 200 MB used, 800 MB left, then 100 MB at 1.99/GB from money.
    assert updated.json()["multipleUnitInformation"][0]["grantedUnit"] == {"totalVolume": 900 * MB}
    # The same request again: the same answer, nothing held twice (R20).
    again = post(client, f"{BASE}/{reference}/update", update, token)
    assert again.json()["multipleUnitInformation"] == updated.json()["multipleUnitInformation"]
    assert balance_of(subscription.billing_account) == Decimal("9.801000")
    release = {"invocationSequenceNumber": 2, "multipleUnitUsage": [{
        "ratingGroup": 10, "usedUnitContainer": [{"totalVolume": 850 * MB}]}]}  # fmt: skip
    assert post(client, f"{BASE}/{reference}/release", release, token).status_code == 204
    event = UsageEvent.objects.get(charging_id="7001")
    assert (event.units, event.covered_units) == (1050 * MB, 1000 * MB)
    assert event.retail_amount == Decimal("0.099500")
    assert balance_of(subscription.billing_account) == Decimal("9.900500")


def test_an_empty_balance_is_quota_limit_reached(client, setup):
    catalogue, _, token, _ = setup
    online_subscriber(catalogue, plan_code="PRE-10", msisdn="4915100000009",
                      imsi="262030000000009", balance="0")  # fmt: skip
    body = data_create(subscriber="imsi-262030000000009")
    body["multipleUnitUsage"][0]["ratingGroup"] = 100
    body["iMSChargingInformation"] = {"calledPartyAddress": "tel:+4915199999999"}
    body["multipleUnitUsage"][0]["requestedUnit"] = {"time": 60}
    refused = post(client, BASE, body, token)
    assert refused.status_code == 403
    assert refused.json()["cause"] == "QUOTA_LIMIT_REACHED"
    assert refused["Content-Type"] == "application/problem+json"


def test_an_unknown_subscriber_is_user_unknown(client, setup):
    _, _, token, _ = setup
    refused = post(client, BASE, data_create(subscriber="msisdn-4915188888888"), token)
    assert (refused.status_code, refused.json()["cause"]) == (404, "USER_UNKNOWN")


def test_an_sms_is_a_one_time_event(client, setup):
    _, subscription, token, _ = setup
    body = {
        "subscriberIdentifier": "msisdn-4915100000001", "invocationSequenceNumber": 0,
        "oneTimeEvent": True, "oneTimeEventType": "IEC", "chargingId": "sms-1",
        "sMSChargingInformation": {"recipientInfo": [
            {"recipientOtherAddress": {"sMaddressData": "+4915199999999"}}]},
        "multipleUnitUsage": [{"ratingGroup": 200, "requestedUnit": {"serviceSpecificUnits": 1}}],
    }  # fmt: skip
    answered = post(client, BASE, body, token)
    assert answered.status_code == 201, answered.json()
    unit = answered.json()["multipleUnitInformation"][0]
    assert unit["grantedUnit"] == {"serviceSpecificUnits": 1}
    assert ChargingSession.objects.get().status == "terminated"
    assert UsageEvent.objects.get().other_party == "4915199999999"


def test_a_late_update_on_an_expired_session_is_told_why(client, setup):
    _, _, token, clock = setup
    reference = post(client, BASE, data_create(), token)["Location"].rsplit("/", 1)[1]
    clock.shift(dt.timedelta(seconds=400))
    assert reservations_expire() == 1
    late = post(client, f"{BASE}/{reference}/update", {"invocationSequenceNumber": 1}, token)
    assert late.status_code == 404
    assert late.json()["cause"] == "CONTEXT_NOT_FOUND"
    assert "SESSION_EXPIRED" in late.json()["detail"]


def test_a_host_network_must_present_its_token(client, setup):
    assert post(client, BASE, data_create(), "wrong").status_code == 401
    answered = client.post(BASE, data=json.dumps(data_create()), content_type="application/json")
    assert answered.status_code == 401
    assert answered["WWW-Authenticate"].startswith("Bearer")


def test_bad_input_is_a_400_with_the_parameter(client, setup):
    _, _, token, _ = setup
    body = data_create()
    body["multipleUnitUsage"][0]["requestedUnit"] = {"totalVolume": -5}
    answered = post(client, BASE, body, token)
    assert answered.status_code == 400
    assert answered.json()["invalidParams"][0]["param"] == "requestedUnit.totalVolume"
    broken = client.post(BASE, data="{", content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert (broken.status_code, broken.json()["cause"]) == (400, "INVALID_MSG_FORMAT")
    missing = data_create()
    del missing["invocationSequenceNumber"]
    assert post(client, BASE, missing, token).json()["cause"] == "MANDATORY_IE_MISSING"


def test_charging_door_skips_the_console_middleware_and_says_its_length(client, setup):
    catalogue, _subscription, token, _clock = setup
    client.cookies["sessionid"] = "not-a-session"
    response = post(client, BASE, data_create(charging_id=7100), token)
    assert response.status_code == 201
    # No session, CSRF or messages work (MachineApiMiddleware); a keep-alive client reads the
    # body by its length.
    assert response["Content-Length"] == str(len(response.content))
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies
    assert not hasattr(response.wsgi_request, "user")
