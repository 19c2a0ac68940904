"""The Diameter Gy front door (RFC 4006 over RFC 6733) end to end over loopback TCP."""

import datetime as dt
import io
import socket
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

from charging.models import UsageEvent
from charging.online import gy
from charging.online.gy_client import SMS_UNIT, VOICE_UNIT, GyClient, GyClientError
from charging.online.gy_server import GyServer
from charging.online.models import ChargingRequest, ChargingSession, DiameterPeer
from subscribers.models import BalanceMovement
from subscribers.services import balance_of
from tests.charging.online_builders import MB, build_online_catalogue, online_subscriber

pytestmark = pytest.mark.django_db(transaction=True)
NOON = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)
PEER = "pgw1.hostnet.example"
REALM = "hostnet.example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def world():
    with time_machine.travel(NOON, tick=True):
        catalogue = build_online_catalogue()
        subscription = online_subscriber(
            catalogue, plan_code="PRE-10", msisdn="4915100000001", imsi="262030000000001"
        )
        DiameterPeer.objects.create(
            host_network=catalogue.golden.host_network, origin_host=PEER, origin_realm=REALM
        )
        server = GyServer(port=free_port(), workers=2).start()
        server.node.wakeup_interval = 1
        try:
            yield catalogue, subscription, server
        finally:
            server.stop()


def client_of(server, origin_host=PEER) -> GyClient:
    return GyClient("127.0.0.1", server.port, origin_host=origin_host, origin_realm=REALM)


def granted(answer, unit="cc_total_octets"):
    (mscc,) = answer.multiple_services_credit_control
    return getattr(mscc.granted_service_unit, unit)


def test_a_data_session_is_initiated_updated_and_terminated(world):
    _, subscription, server = world
    with client_of(server) as client:
        assert client.capabilities.result_code == gy.SUCCESS
        assert client.capabilities.auth_application_id == [gy.APPLICATION_ID]
        session = client.new_session_id()
        common = {"session_id": session, "msisdn": "4915100000001", "rating_group": 10,
                  "event_time": NOON}  # fmt: skip
        initial = client.credit_control(request_type=gy.INITIAL, number=0, requested=200 * MB,
                                        **common)  # fmt: skip
        assert (initial.result_code, initial.cc_request_type) == (gy.SUCCESS, gy.INITIAL)
        assert initial.session_id == session
        assert granted(initial) == 200 * MB
        (mscc,) = initial.multiple_services_credit_control
        assert (mscc.rating_group, mscc.validity_time, mscc.result_code) == (10, 300, 2001)

        update = {"request_type": gy.UPDATE, "number": 1, "requested": 900 * MB,
                  "used": 200 * MB, **common}  # fmt: skip
        updated = client.credit_control(**update)
        # 1 GB of allowance: 200 MB used, 800 MB left, then 100 MB at 1.99/GB from money.
        assert (updated.result_code, granted(updated)) == (gy.SUCCESS, 900 * MB)
        held = balance_of(subscription.billing_account)
        # The same Session-Id and CC-Request-Number again: the first answer, nothing held (R20).
        again = client.credit_control(**update)
        assert (again.result_code, granted(again)) == (gy.SUCCESS, 900 * MB)
        assert balance_of(subscription.billing_account) == held == Decimal("9.801000")

        terminated = client.credit_control(request_type=gy.TERMINATE, number=2,
                                           used=850 * MB, **common)  # fmt: skip
        assert terminated.result_code == gy.SUCCESS
        assert terminated.multiple_services_credit_control == []
        assert client.watchdog().result_code == gy.SUCCESS
    event = UsageEvent.objects.get()
    assert (event.units, event.covered_units) == (1050 * MB, 1000 * MB)
    assert event.retail_amount == Decimal("0.099500")
    assert balance_of(subscription.billing_account) == Decimal("9.900500")
    assert ChargingRequest.objects.count() == 3


def test_an_empty_balance_is_credit_limit_reached_4012(world):
    catalogue, _, server = world
    online_subscriber(catalogue, plan_code="PRE-10", msisdn="4915100000009",
                      imsi="262030000000009", balance="0")  # fmt: skip
    with client_of(server) as client:
        refused = client.credit_control(
            session_id=client.new_session_id(), request_type=gy.INITIAL, number=0,
            imsi="262030000000009", rating_group=100, unit_kind=VOICE_UNIT, requested=60,
        )  # fmt: skip
    assert refused.result_code == gy.CREDIT_LIMIT_REACHED == 4012
    assert "CREDIT_LIMIT_REACHED" in gy.error_message_of(refused)
    assert not BalanceMovement.objects.filter(kind="reservation").exists()


def test_a_short_balance_gets_the_last_units_with_a_final_unit_indication(world):
    catalogue, _, server = world
    # No allowance, 1.99/GB: 0.20 pays about a tenth of the gigabyte asked for.
    online_subscriber(catalogue, plan_code="HYB-10", msisdn="4915100000008",
                      imsi="262030000000008", balance="0.20")  # fmt: skip
    with client_of(server) as client:
        answer = client.credit_control(
            session_id=client.new_session_id(), request_type=gy.INITIAL, number=0,
            msisdn="4915100000008", rating_group=10, requested=1000 * MB, event_time=NOON,
        )  # fmt: skip
    assert answer.result_code == gy.SUCCESS
    assert 90 * MB < granted(answer) < 110 * MB
    (mscc,) = answer.multiple_services_credit_control
    assert mscc.final_unit_indication.final_unit_action == 0  # TERMINATE


def test_an_unknown_subscriber_is_user_unknown_5030(world):
    _, _, server = world
    with client_of(server) as client:
        answer = client.credit_control(
            session_id=client.new_session_id(), request_type=gy.INITIAL, number=0,
            msisdn="4915188888888", rating_group=10, requested=MB,
        )  # fmt: skip
        unknown_session = client.credit_control(
            session_id="nobody;1", request_type=gy.UPDATE, number=1, rating_group=10, used=1
        )
        no_subscriber = client.credit_control(
            session_id=client.new_session_id(), request_type=gy.INITIAL, number=0,
            rating_group=10, requested=MB,
        )  # fmt: skip
        bad_group = client.credit_control(
            session_id=client.new_session_id(), request_type=gy.INITIAL, number=0,
            msisdn="4915100000001", rating_group=999, requested=MB,
        )  # fmt: skip
    assert answer.result_code == gy.USER_UNKNOWN == 5030
    assert unknown_session.result_code == gy.UNKNOWN_SESSION_ID == 5002
    assert no_subscriber.result_code == gy.MISSING_AVP == 5005
    assert "Subscription-Id" in gy.error_message_of(no_subscriber)
    assert bad_group.result_code == gy.INVALID_AVP_VALUE == 5004
    assert not ChargingSession.objects.filter(status="active").exists()


def test_an_sms_is_an_event_and_can_be_refunded(world):
    _, subscription, server = world
    with client_of(server) as client:
        session = client.new_session_id()
        common = {"session_id": session, "msisdn": "4915100000001", "rating_group": 200,
                  "unit_kind": SMS_UNIT}  # fmt: skip
        charged = client.credit_control(request_type=gy.EVENT, number=0, requested=1, **common)
        assert (charged.result_code, granted(charged, SMS_UNIT)) == (gy.SUCCESS, 1)
        refunded = client.credit_control(request_type=gy.EVENT, number=1, requested=1,
                                         requested_action=gy.REFUND_ACCOUNT, **common)  # fmt: skip
        assert refunded.result_code == gy.SUCCESS
    assert ChargingSession.objects.get().status == "refunded"


def test_only_configured_peers_pass_the_capabilities_exchange(world):
    _, _, server = world
    with pytest.raises(GyClientError, match="3010"):
        client_of(server, origin_host="intruder.example").connect()
    # The peer's Origin-Host is matched without regard to case (RFC 6733 4.3.1).
    with client_of(server, origin_host=PEER.upper()) as client:
        assert client.watchdog().result_code == gy.SUCCESS


def test_the_operator_client_runs_a_session_and_prints_every_answer(world):
    _, _, server = world
    out = io.StringIO()
    call_command("gy_client", "4915100000001", "--port", str(server.port), "--origin-host",
                 PEER, "--origin-realm", REALM, "--requested", "1000", "--used", "400",
                 stdout=out)  # fmt: skip
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("CEA: Result-Code 2001 from ocs.billing.local")
    assert (
        lines[2] == "CCA-I: Result-Code 2001, granted 1000 (cc-total-octets), Validity-Time 300 s"
    )
    assert lines[3].startswith("CCA-U: Result-Code 2001, granted 1000")
    assert lines[4] == "CCA-T: Result-Code 2001"
    assert lines[5] == "DWA: Result-Code 2001"
    assert UsageEvent.objects.get().units == 800
    with pytest.raises(CommandError, match="3010"):
        call_command("gy_client", "4915100000001", "--port", str(server.port),
                     "--origin-host", "stranger.example", "--origin-realm", REALM)  # fmt: skip


def test_stopping_the_server_ends_its_peer_threads(world):
    """Each peer connection's reader and writer threads end with the server, whether the peer
    said goodbye or was still connected: they are not daemons, and a test run or
    `manage.py diameter_gy` that left one behind never exited."""

    _, _, server = world
    with client_of(server) as client:  # says goodbye (DPR) on leaving
        assert client.capabilities.result_code == gy.SUCCESS
    still = client_of(server)
    assert still.__enter__().capabilities.result_code == gy.SUCCESS
    # This server's connections' readers and writers (python-diameter's own threads).
    threads = [thread for connection in server.connections
               for thread in (connection._read_thread, connection._write_thread)]  # fmt: skip
    assert threads and any(thread.is_alive() for thread in threads)
    server.stop()
    for thread in threads:
        thread.join(timeout=30)  # each wakes at least every 5 s to look at its stop flag
    assert [thread for thread in threads if thread.is_alive()] == []
