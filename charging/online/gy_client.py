"""A small Gy client (a PGW's or an MSC's side): one TCP connection, one request at a time.

Used by ``manage.py gy_client`` for operators to try a session, by the tests and by the
benchmark. Messages are encoded and decoded by ``python-diameter``.
"""

import datetime as dt
import itertools
import os
import socket
import struct

from diameter.message import Message
from diameter.message import constants as c
from diameter.message.avp.grouped import (
    MultipleServicesCreditControl,
    RequestedServiceUnit,
    SubscriptionId,
    UsedServiceUnit,
)
from diameter.message.commands import (
    CapabilitiesExchangeRequest,
    CreditControlRequest,
    DeviceWatchdogRequest,
    DisconnectPeerRequest,
)

VOICE_UNIT = "cc_time"
DATA_UNIT = "cc_total_octets"
SMS_UNIT = "cc_service_specific_units"


class GyClientError(Exception):
    pass


def read_message(sock: socket.socket) -> Message:
    """Read one whole Diameter message (its length is in the header's bytes 1-3)."""
    header = _read(sock, 4)
    length = struct.unpack("!I", b"\0" + header[1:4])[0]
    return Message.from_bytes(header + _read(sock, length - 4))


def _read(sock: socket.socket, size: int) -> bytes:
    chunks, missing = [], size
    while missing:
        chunk = sock.recv(missing)
        if not chunk:
            raise GyClientError("the server closed the connection")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def unit(kind: str, amount: int | None, cls):
    if amount is None:
        return None
    return cls(**{kind: amount})


def credit_control_request(
    *,
    session_id: str,
    origin_host: str,
    origin_realm: str,
    destination_realm: str,
    request_type: int,
    number: int,
    msisdn: str = "",
    imsi: str = "",
    rating_group: int | None = None,
    unit_kind: str = DATA_UNIT,
    requested: int | None = None,
    used: int | None = None,
    requested_action: int | None = None,
    event_time: dt.datetime | None = None,
) -> CreditControlRequest:
    """A CCR as a PGW (data) or MSC (voice, SMS) sends it (RFC 4006 3.1, TS 32.299 6.4.2)."""
    request = CreditControlRequest()
    request.header.is_proxyable = True
    request.header.application_id = c.APP_DIAMETER_CREDIT_CONTROL_APPLICATION
    request.session_id = session_id
    request.origin_host = origin_host.encode()
    request.origin_realm = origin_realm.encode()
    request.destination_realm = destination_realm.encode()
    request.auth_application_id = c.APP_DIAMETER_CREDIT_CONTROL_APPLICATION
    request.service_context_id = (
        "32251@3gpp.org"
        if unit_kind == DATA_UNIT
        else ("32260@3gpp.org" if unit_kind == VOICE_UNIT else "32274@3gpp.org")
    )
    request.cc_request_type = request_type
    request.cc_request_number = number
    if event_time is not None:
        request.event_timestamp = event_time
    ids = []
    if msisdn:
        ids.append(
            SubscriptionId(
                subscription_id_type=c.E_SUBSCRIPTION_ID_TYPE_END_USER_E164,
                subscription_id_data=msisdn,
            )
        )
    if imsi:
        ids.append(
            SubscriptionId(
                subscription_id_type=c.E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI,
                subscription_id_data=imsi,
            )
        )
    if ids:
        request.subscription_id = ids
    if requested_action is not None:
        request.requested_action = requested_action
    if rating_group is not None or requested is not None or used is not None:
        mscc = MultipleServicesCreditControl()
        if rating_group is not None:
            mscc.rating_group = rating_group
        if requested is not None:
            mscc.requested_service_unit = unit(unit_kind, requested, RequestedServiceUnit)
        if used is not None:
            mscc.used_service_unit = [unit(unit_kind, used, UsedServiceUnit)]
        request.multiple_services_credit_control = [mscc]
    return request


class GyClient:
    """One connection to a Gy server: ``connect()`` (CER), ``request()``, ``watchdog()``,
    ``close()`` (DPR)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        origin_host: str,
        origin_realm: str,
        destination_realm: str = "billing.local",
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port = host, port
        self.origin_host, self.origin_realm = origin_host, origin_realm
        self.destination_realm = destination_realm
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self._ids = itertools.count(int.from_bytes(os.urandom(3), "big") << 8)
        self._session_counter = itertools.count(1)
        self.capabilities = None
        self.transcript: list[Message] = []  # every message sent and received, in order

    # --- the connection -------------------------------------------------------------------

    def connect(self):
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cer = CapabilitiesExchangeRequest()
        cer.origin_host = self.origin_host.encode()
        cer.origin_realm = self.origin_realm.encode()
        cer.host_ip_address = [self.sock.getsockname()[0]]
        cer.vendor_id = 0
        cer.product_name = "mvno-billing gy_client"
        cer.auth_application_id = [c.APP_DIAMETER_CREDIT_CONTROL_APPLICATION]
        cea = self.send(cer)
        self.capabilities = cea
        if cea.result_code != c.E_RESULT_CODE_DIAMETER_SUCCESS:
            self.sock.close()
            self.sock = None
            raise GyClientError(f"capabilities exchange refused: Result-Code {cea.result_code}")
        return cea

    def send(self, message: Message) -> Message:
        """Send a request and return its answer (answers are matched by Hop-by-Hop id)."""
        if self.sock is None:
            raise GyClientError("not connected")
        identifier = next(self._ids) & 0xFFFFFFFF
        message.header.hop_by_hop_identifier = identifier
        message.header.end_to_end_identifier = identifier
        self.sock.sendall(message.as_bytes())
        self.transcript.append(message)
        while True:
            answer = read_message(self.sock)
            self.transcript.append(answer)
            if answer.header.is_request:  # the server's watchdog: answer it
                self._answer_request(answer)
                continue
            if answer.header.hop_by_hop_identifier == identifier:
                return answer

    def _answer_request(self, request: Message) -> None:
        answer = request.to_answer()
        answer.result_code = c.E_RESULT_CODE_DIAMETER_SUCCESS
        answer.origin_host = self.origin_host.encode()
        answer.origin_realm = self.origin_realm.encode()
        self.sock.sendall(answer.as_bytes())

    def watchdog(self) -> Message:
        dwr = DeviceWatchdogRequest()
        dwr.origin_host = self.origin_host.encode()
        dwr.origin_realm = self.origin_realm.encode()
        return self.send(dwr)

    def close(self) -> None:
        if self.sock is None:
            return
        try:
            dpr = DisconnectPeerRequest()
            dpr.origin_host = self.origin_host.encode()
            dpr.origin_realm = self.origin_realm.encode()
            dpr.disconnect_cause = c.E_DISCONNECT_CAUSE_DO_NOT_WANT_TO_TALK_TO_YOU
            self.send(dpr)
        except (OSError, GyClientError):
            pass
        finally:
            self.sock.close()
            self.sock = None

    def __enter__(self) -> "GyClient":
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- credit control ---------------------------------------------------------------------

    def new_session_id(self) -> str:
        serial = next(self._session_counter)
        return f"{self.origin_host};{os.getpid()};{serial};{os.urandom(4).hex()}"

    def credit_control(self, **kwargs) -> Message:
        return self.send(
            credit_control_request(
                origin_host=self.origin_host,
                origin_realm=self.origin_realm,
                destination_realm=self.destination_realm,
                **kwargs,
            )
        )
