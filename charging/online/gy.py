"""The Diameter Gy front door: RFC 4006 credit control (3GPP TS 32.299 Gy) onto the one service.

A Credit-Control-Request (CCR) is answered by a Credit-Control-Answer (CCA) built from the
answer of the same services the Nchf door calls (``charging.online.services``):

    CC-Request-Type INITIAL_REQUEST      charging_initiate   (Requested-Service-Unit)
                    UPDATE_REQUEST       charging_update     (Used- and Requested-Service-Unit)
                    TERMINATION_REQUEST  charging_terminate  (Used-Service-Unit)
                    EVENT_REQUEST        charging_event      (Requested-Action DIRECT_DEBITING)
                                         charging_refund     (Requested-Action REFUND_ACCOUNT)

The network's Session-Id is the session's key, CC-Request-Number its request number: a repeated
request gets the stored answer of the first one and changes nothing (R20). One session charges
one service, named by the Rating-Group (or Service-Identifier) of its single
Multiple-Services-Credit-Control (ONLINE_RATING_GROUPS, as the Nchf door). The subscriber is the
Subscription-Id END_USER_E164 (MSISDN) or END_USER_IMSI. Units: CC-Time for voice,
CC-Total-Octets (or input + output octets) for data, CC-Service-Specific-Units for SMS/events.

This module only maps messages; ``charging.online.gy_server`` carries them over TCP.
"""

import datetime as dt

from diameter.message import constants as c
from diameter.message.avp import Avp
from diameter.message.avp.grouped import (
    FinalUnitIndication,
    GrantedServiceUnit,
    MultipleServicesCreditControl,
)
from diameter.message.commands import CreditControlAnswer, CreditControlRequest

from catalog.models import Service
from charging.online import services as online
from charging.online.models import ChargingSession, Refusal
from charging.online.nchf import SMS, VOICE, rating_groups

APPLICATION_ID = c.APP_DIAMETER_CREDIT_CONTROL_APPLICATION  # 4: Gy is DCCA (TS 32.299 6.1)
INITIAL = c.E_CC_REQUEST_TYPE_INITIAL_REQUEST
UPDATE = c.E_CC_REQUEST_TYPE_UPDATE_REQUEST
TERMINATE = c.E_CC_REQUEST_TYPE_TERMINATION_REQUEST
EVENT = c.E_CC_REQUEST_TYPE_EVENT_REQUEST
SUCCESS = c.E_RESULT_CODE_DIAMETER_SUCCESS  # 2001
CREDIT_LIMIT_REACHED = c.E_RESULT_CODE_DIAMETER_CREDIT_LIMIT_REACHED  # 4012
END_USER_SERVICE_DENIED = c.E_RESULT_CODE_DIAMETER_END_USER_SERVICE_DENIED  # 4010
UNKNOWN_SESSION_ID = c.E_RESULT_CODE_DIAMETER_UNKNOWN_SESSION_ID  # 5002
AUTHORIZATION_REJECTED = c.E_RESULT_CODE_DIAMETER_AUTHORIZATION_REJECTED  # 5003
INVALID_AVP_VALUE = c.E_RESULT_CODE_DIAMETER_INVALID_AVP_VALUE  # 5004
MISSING_AVP = c.E_RESULT_CODE_DIAMETER_MISSING_AVP  # 5005
UNABLE_TO_COMPLY = c.E_RESULT_CODE_DIAMETER_UNABLE_TO_COMPLY  # 5012
USER_UNKNOWN = c.E_RESULT_CODE_DIAMETER_USER_UNKNOWN  # 5030
RATING_FAILED = c.E_RESULT_CODE_DIAMETER_RATING_FAILED  # 5031

# A refusal of the service -> the Result-Code of the answer (RFC 4006 9.1, 8.1 for 5002).
RESULT_CODES = {
    online.SUCCESS: SUCCESS,
    Refusal.CREDIT_LIMIT_REACHED: CREDIT_LIMIT_REACHED,
    Refusal.BARRED: END_USER_SERVICE_DENIED,
    Refusal.INACTIVE_SUBSCRIPTION: END_USER_SERVICE_DENIED,
    Refusal.UNKNOWN_SUBSCRIBER: USER_UNKNOWN,
    Refusal.NO_RATE: RATING_FAILED,
    Refusal.UNKNOWN_SESSION: UNKNOWN_SESSION_ID,
    Refusal.SESSION_EXPIRED: UNKNOWN_SESSION_ID,
    Refusal.SESSION_CLOSED: UNKNOWN_SESSION_ID,
    Refusal.NOT_REFUNDABLE: UNABLE_TO_COMPLY,
}
SUBSCRIPTION_E164 = c.E_SUBSCRIPTION_ID_TYPE_END_USER_E164
SUBSCRIPTION_IMSI = c.E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI
DIRECT_DEBITING = c.E_REQUESTED_ACTION_DIRECT_DEBITING
REFUND_ACCOUNT = c.E_REQUESTED_ACTION_REFUND_ACCOUNT
# Service-Context-Id of TS 32.299 7.1.12, when no Rating-Group names the service.
CONTEXT_SERVICES = {"32251": Service.DATA, "32274": Service.SMS_OUT, "32260": Service.VOICE_OUT}


class GyError(Exception):
    """A request the door cannot map: answered with a protocol Result-Code, nothing charged."""

    def __init__(self, result_code: int, message: str) -> None:
        super().__init__(message)
        self.result_code = result_code


def error_message_set(answer, text: str) -> None:
    """Add an Error-Message AVP (RFC 6733 7.3): CCA allows it among its *[AVP]."""
    answer.append_avp(Avp.new(c.AVP_ERROR_MESSAGE, value=text[:200]))


def error_message_of(answer) -> str:
    found = answer.find_avps((c.AVP_ERROR_MESSAGE, 0))
    return _text(found[0]) if found else ""


def _listed(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _required(request, name: str, label: str):
    value = getattr(request, name, None)
    if value is None:
        raise GyError(MISSING_AVP, f"{label} is required")
    return value


def subscriber_of(request) -> tuple[str, str]:
    """Return (msisdn, imsi) from Subscription-Id: E.164 first, else IMSI."""
    found = {}
    for item in _listed(getattr(request, "subscription_id", None)):
        data = _text(getattr(item, "subscription_id_data", "")).strip()
        found.setdefault(getattr(item, "subscription_id_type", None), data)
    for kind in (SUBSCRIPTION_E164, SUBSCRIPTION_IMSI):
        value = found.get(kind)
        if value is None:
            continue
        if not value.isascii() or not value.isdigit() or len(value) > 15:
            raise GyError(INVALID_AVP_VALUE, f"Subscription-Id-Data {value!r}: digits only")
        return (value, "") if kind == SUBSCRIPTION_E164 else ("", value)
    raise GyError(MISSING_AVP, "Subscription-Id END_USER_E164 or END_USER_IMSI is required")


def mscc_of(request):
    """The request's one Multiple-Services-Credit-Control, or None (one service a session)."""
    blocks = _listed(getattr(request, "multiple_services_credit_control", None))
    if len(blocks) > 1:
        raise GyError(UNABLE_TO_COMPLY, "one Multiple-Services-Credit-Control per session")
    return blocks[0] if blocks else None


def service_of(request, mscc) -> tuple[str, int | None]:
    """Return (service, rating group) from Rating-Group, Service-Identifier or the context."""
    groups = rating_groups()
    for attribute in ("rating_group", "service_identifier"):
        value = getattr(mscc, attribute, None) if mscc is not None else None
        if value is None:
            continue
        service = groups.get(str(value))
        if service is None:
            raise GyError(INVALID_AVP_VALUE, f"unknown {attribute.replace('_', '-')} {value}")
        return service, value
    context = _text(getattr(request, "service_context_id", "")).split("@")[0][-5:]
    if context in CONTEXT_SERVICES:
        return CONTEXT_SERVICES[context], None
    raise GyError(MISSING_AVP, "Rating-Group (Multiple-Services-Credit-Control) is required")


def units_of(unit, service: str) -> int:
    """The units of a Requested- or Used-Service-Unit in the service's base unit (R5)."""
    if unit is None:
        return 0
    if service in VOICE:
        return int(getattr(unit, "cc_time", None) or 0)
    if service == Service.DATA:
        total = getattr(unit, "cc_total_octets", None)
        if total is None:
            total = (getattr(unit, "cc_input_octets", None) or 0) + (
                getattr(unit, "cc_output_octets", None) or 0
            )
        return int(total)
    return int(getattr(unit, "cc_service_specific_units", None) or 0)


def used_of(mscc, service: str) -> int:
    if mscc is None:
        return 0
    units = _listed(getattr(mscc, "used_service_unit", None))
    return sum(units_of(unit, service) for unit in units)


def requested_of(mscc, service: str) -> int:
    if mscc is None:
        return 0
    return units_of(getattr(mscc, "requested_service_unit", None), service)


def other_party_of(request, service: str) -> str:
    """The called party (IMS-Information) or the SMS recipient, digits only."""
    info = getattr(request, "service_information", None)
    address = ""
    if info is not None and service in VOICE:
        ims = getattr(info, "ims_information", None)
        address = _text(getattr(ims, "called_party_address", "")) if ims is not None else ""
    elif info is not None and service in SMS:
        sms = getattr(info, "sms_information", None)
        for recipient in _listed(getattr(sms, "recipient_info", None) if sms else None):
            for item in _listed(getattr(recipient, "recipient_address", None)):
                address = _text(getattr(item, "address_data", ""))
                break
    return "".join(ch for ch in address if ch.isdigit())[:32]


def visited_plmn_of(request) -> str:
    """The serving network: 3GPP-SGSN-MCC-MNC of PS-Information, when the PGW sends it."""
    info = getattr(request, "service_information", None)
    ps = getattr(info, "ps_information", None) if info is not None else None
    value = _text(getattr(ps, "tgpp_sgsn_mcc_mnc", "")) if ps is not None else ""
    return value if value.isdigit() and 5 <= len(value) <= 6 else ""


def apn_of(request) -> str:
    info = getattr(request, "service_information", None)
    ps = getattr(info, "ps_information", None) if info is not None else None
    return _text(getattr(ps, "called_station_id", ""))[:64] if ps is not None else ""


def instant_of(request) -> dt.datetime | None:
    value = getattr(request, "event_timestamp", None)
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- the answer --------------------------------------------------------------------------------


def _granted_unit(service: str, units: int) -> GrantedServiceUnit:
    if service in VOICE:
        return GrantedServiceUnit(cc_time=units)
    if service == Service.DATA:
        return GrantedServiceUnit(cc_total_octets=units)
    return GrantedServiceUnit(cc_service_specific_units=units)


def answer_for(request: CreditControlRequest, *, origin_host: str, origin_realm: str,
               result_code: int, error: str = "") -> CreditControlAnswer:  # fmt: skip
    """A CCA for the request with its mandatory AVPs (RFC 4006 3.2) and a Result-Code."""
    answer = request.to_answer()
    answer.session_id = request.session_id
    answer.origin_host = origin_host.encode()
    answer.origin_realm = origin_realm.encode()
    answer.auth_application_id = APPLICATION_ID
    answer.cc_request_type = request.cc_request_type
    answer.cc_request_number = request.cc_request_number
    answer.result_code = result_code
    if error:
        error_message_set(answer, error)
    return answer


def _fill(answer, served: dict, *, service: str, group, request_type: int) -> None:
    """Put the service's answer into the CCA: Result-Code, MSCC with its grant (RFC 4006 8)."""
    result = served["result"]
    code = RESULT_CODES.get(result, UNABLE_TO_COMPLY)
    answer.result_code = code
    if code != SUCCESS:
        error_message_set(answer, f"{result}: {served['detail']}")
    if request_type in (TERMINATE,) or code in (UNKNOWN_SESSION_ID, USER_UNKNOWN):
        return
    if code not in (SUCCESS, CREDIT_LIMIT_REACHED, RATING_FAILED):
        return
    mscc = MultipleServicesCreditControl(result_code=code)
    if group is not None:
        mscc.rating_group = group
    if request_type == EVENT or served["grantedUnits"] or code == SUCCESS:
        mscc.granted_service_unit = _granted_unit(service, served["grantedUnits"])
    if served.get("validityTime") and request_type != EVENT:
        mscc.validity_time = served["validityTime"]
    if served.get("finalUnit") and request_type != EVENT:
        mscc.final_unit_indication = FinalUnitIndication(
            final_unit_action=c.E_FINAL_UNIT_ACTION_TERMINATE
        )
    answer.multiple_services_credit_control = [mscc]


def _session(network, session_id: str):
    return (
        ChargingSession.objects.filter(host_network=network, session_id=session_id)
        .values_list("reference", "service")
        .first()
    )


def credit_control(request: CreditControlRequest, *, network, origin_host: str,
                   origin_realm: str) -> CreditControlAnswer:  # fmt: skip
    """Answer one CCR of a host network's peer (R20: a repeat gets the first answer)."""
    answer = answer_for(request, origin_host=origin_host, origin_realm=origin_realm,
                        result_code=SUCCESS)  # fmt: skip
    try:
        _serve(request, answer, network)
    except GyError as error:
        answer.result_code = error.result_code
        error_message_set(answer, str(error))
        answer.multiple_services_credit_control = None
    except online.ChargingError as error:
        answer.result_code = INVALID_AVP_VALUE
        error_message_set(answer, str(error))
        answer.multiple_services_credit_control = None
    return answer


def _serve(request, answer, network) -> None:
    session_id = _text(_required(request, "session_id", "Session-Id"))
    request_type = _required(request, "cc_request_type", "CC-Request-Type")
    number = _required(request, "cc_request_number", "CC-Request-Number")
    mscc = mscc_of(request)
    if request_type in (INITIAL, EVENT):
        action = getattr(request, "requested_action", None)
        if request_type == EVENT and action == REFUND_ACCOUNT:
            known = _session(network, session_id)
            if known is None:
                raise GyError(UNKNOWN_SESSION_ID, f"no event session {session_id}")
            served = online.charging_refund(
                host_network=network, reference=known[0], request_number=number
            )
            _fill(answer, served, service=known[1], group=None, request_type=TERMINATE)
            return
        if request_type == EVENT and action not in (None, DIRECT_DEBITING):
            raise GyError(UNABLE_TO_COMPLY, f"Requested-Action {action} is not supported")
        msisdn, imsi = subscriber_of(request)
        service, group = service_of(request, mscc)
        common = {
            "host_network": network, "session_id": session_id[:128], "request_number": number,
            "msisdn": msisdn, "imsi": imsi, "service": service,
            "other_party": other_party_of(request, service),
            "visited_plmn": visited_plmn_of(request), "charging_id": session_id[:64],
            "started_at": instant_of(request),
        }  # fmt: skip
        if request_type == EVENT:
            units = requested_of(mscc, service) or 1
            served = online.charging_event(units=units, **common)
        else:
            served = online.charging_initiate(
                requested_units=requested_of(mscc, service), apn=apn_of(request), **common
            )
        _fill(answer, served, service=service, group=group, request_type=request_type)
        return
    if request_type not in (UPDATE, TERMINATE):
        raise GyError(INVALID_AVP_VALUE, f"CC-Request-Type {request_type}")
    known = _session(network, session_id)
    if known is None:
        raise GyError(UNKNOWN_SESSION_ID, f"no session {session_id}")
    reference, service = known
    group = None
    if mscc is not None:
        group = getattr(mscc, "rating_group", None)
    if request_type == UPDATE:
        served = online.charging_update(
            host_network=network, reference=reference, request_number=number,
            used_units=used_of(mscc, service), requested_units=requested_of(mscc, service),
        )  # fmt: skip
    else:
        served = online.charging_terminate(
            host_network=network, reference=reference, request_number=number,
            used_units=used_of(mscc, service),
        )  # fmt: skip
    _fill(answer, served, service=service, group=group, request_type=request_type)
