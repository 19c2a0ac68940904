"""The 5G CHF front door: Nchf_ConvergedCharging (3GPP TS 32.290 / 32.291) JSON over HTTP.

    POST /nchf-convergedcharging/v3/chargingdata                  Create  (initial, or an event)
    POST /nchf-convergedcharging/v3/chargingdata/{ref}/update     Update
    POST /nchf-convergedcharging/v3/chargingdata/{ref}/release    Release (terminate)

A host network authenticates with ``Authorization: Bearer <token>`` (a ChargingClient of that
network, ``manage.py chf_client``). Each request carries ``invocationSequenceNumber``, the
request number of R20: a repeated one gets the first answer again. One session charges one
service: the first ``multipleUnitUsage`` element (its ``ratingGroup`` names the service,
ONLINE_RATING_GROUPS) with ``requestedUnit`` and ``usedUnitContainer``; answers carry
``multipleUnitInformation`` with ``resultCode``, ``grantedUnit``, ``validityTime``,
``finalUnitIndication`` and ``triggers``. Errors are 3GPP ProblemDetails (TS 29.500):
``{"title", "status", "detail", "cause", "invalidParams"}``.

The subscriber is ``subscriberIdentifier`` "msisdn-…" or "imsi-…"; the session's key is the
network's ``chargingId`` (top level or in ``pDUSessionChargingInformation``), which is also how
a usage file record is matched to the session later (R23).
"""

import datetime as dt
import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from catalog.models import Service
from charging.online import services as online
from charging.online.models import Refusal

DEFAULT_RATING_GROUPS = {
    "10": Service.DATA,
    "100": Service.VOICE_OUT,
    "101": Service.VOICE_IN,
    "200": Service.SMS_OUT,
    "201": Service.SMS_IN,
}
VOICE = (Service.VOICE_OUT, Service.VOICE_IN)
SMS = (Service.SMS_OUT, Service.SMS_IN, Service.EVENT)
# Refusals of a Create: HTTP status and ProblemDetails cause (TS 32.291 application errors).
CREATE_REFUSALS = {
    Refusal.CREDIT_LIMIT_REACHED: (403, "QUOTA_LIMIT_REACHED"),
    Refusal.BARRED: (403, "END_USER_REQUEST_DENIED"),
    Refusal.INACTIVE_SUBSCRIPTION: (403, "END_USER_REQUEST_DENIED"),
    Refusal.NO_RATE: (403, "CHARGING_NOT_APPLICABLE"),
    Refusal.UNKNOWN_SUBSCRIBER: (404, "USER_UNKNOWN"),
}
# Refusals of one unit's quota inside a successful answer (multipleUnitInformation.resultCode).
UNIT_RESULTS = {
    Refusal.CREDIT_LIMIT_REACHED: "QUOTA_LIMIT_REACHED",
    Refusal.NO_RATE: "RATING_FAILED",
}
SESSION_GONE = (Refusal.UNKNOWN_SESSION, Refusal.SESSION_EXPIRED, Refusal.SESSION_CLOSED)


class BadRequest(Exception):
    def __init__(self, param: str, reason: str, cause: str = "MANDATORY_IE_INCORRECT") -> None:
        super().__init__(reason)
        self.param, self.reason, self.cause = param, reason, cause


def problem(status: int, cause: str, detail: str, invalid=None) -> JsonResponse:
    body = {"title": HttpResponse(status=status).reason_phrase, "status": status,
            "detail": detail, "cause": cause}  # fmt: skip
    if invalid:
        body["invalidParams"] = invalid
    return JsonResponse(body, status=status, content_type="application/problem+json")


def rating_groups() -> dict:
    return {
        str(k): v
        for k, v in getattr(settings, "ONLINE_RATING_GROUPS", DEFAULT_RATING_GROUPS).items()
    }


# --- reading a ChargingDataRequest -------------------------------------------------------------


def _body(request) -> dict:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest("body", f"not JSON: {error}", "INVALID_MSG_FORMAT") from error
    if not isinstance(body, dict):
        raise BadRequest("body", "a ChargingDataRequest object", "INVALID_MSG_FORMAT")
    return body


def _int(value, param: str, *, required=False) -> int | None:
    if value is None:
        if required:
            raise BadRequest(param, "required", "MANDATORY_IE_MISSING")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadRequest(param, "a whole number, 0 or more")
    return value


def _sequence(body) -> int:
    return _int(body.get("invocationSequenceNumber"), "invocationSequenceNumber", required=True)


def _unit_usage(body) -> dict:
    usages = body.get("multipleUnitUsage") or []
    if not isinstance(usages, list) or not all(isinstance(u, dict) for u in usages):
        raise BadRequest("multipleUnitUsage", "a list of MultipleUnitUsage objects")
    if len(usages) > 1:
        raise BadRequest("multipleUnitUsage", "one rating group per charging session")
    return usages[0] if usages else {}


def _service(usage: dict, body: dict) -> str:
    group = usage.get("ratingGroup")
    if group is None:
        if "pDUSessionChargingInformation" in body:
            return Service.DATA
        raise BadRequest("multipleUnitUsage[0].ratingGroup", "required", "MANDATORY_IE_MISSING")
    service = rating_groups().get(str(group))
    if service is None:
        raise BadRequest("multipleUnitUsage[0].ratingGroup", f"unknown rating group {group}")
    return service


def _units(unit, service: str, param: str) -> int:
    """The units of a RequestedUnit / UsedUnitContainer in the service's base unit (R5)."""
    if unit is None:
        return 0
    if not isinstance(unit, dict):
        raise BadRequest(param, "an object")
    if service in VOICE:
        return _int(unit.get("time"), f"{param}.time") or 0
    if service == Service.DATA:
        total = _int(unit.get("totalVolume"), f"{param}.totalVolume")
        if total is None:
            total = (_int(unit.get("uplinkVolume"), f"{param}.uplinkVolume") or 0) + (
                _int(unit.get("downlinkVolume"), f"{param}.downlinkVolume") or 0
            )
        return total
    return _int(unit.get("serviceSpecificUnits"), f"{param}.serviceSpecificUnits") or 0


def _used(usage: dict, service: str) -> int:
    containers = usage.get("usedUnitContainer") or []
    if not isinstance(containers, list):
        raise BadRequest("multipleUnitUsage[0].usedUnitContainer", "a list")
    return sum(
        _units(c, service, f"multipleUnitUsage[0].usedUnitContainer[{i}]")
        for i, c in enumerate(containers)
    )


def _subscriber(body) -> tuple[str, str]:
    identifier = body.get("subscriberIdentifier")
    if not isinstance(identifier, str) or not identifier:
        raise BadRequest("subscriberIdentifier", "required", "MANDATORY_IE_MISSING")
    kind, _, value = identifier.partition("-")
    if kind not in ("msisdn", "imsi") or not value.isascii() or not value.isdigit():
        raise BadRequest("subscriberIdentifier", '"msisdn-<digits>" or "imsi-<digits>"')
    return (value, "") if kind == "msisdn" else ("", value)


def _charging_id(body) -> str:
    pdu = body.get("pDUSessionChargingInformation") or {}
    value = body.get("chargingId", pdu.get("chargingId") if isinstance(pdu, dict) else None)
    if value is None or isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(
            "chargingId", "required: the network's charging id", "MANDATORY_IE_MISSING"
        )
    return str(value)[:64]


def _plmn(body) -> str:
    pdu = body.get("pDUSessionChargingInformation") or {}
    info = (pdu.get("pduSessionInformation") or {}) if isinstance(pdu, dict) else {}
    plmn = info.get("servingCNPlmnId") if isinstance(info, dict) else None
    if not plmn:
        return ""
    if not isinstance(plmn, dict) or not str(plmn.get("mcc", "")).isdigit():
        raise BadRequest("pduSessionInformation.servingCNPlmnId", "an object {mcc, mnc}")
    return f"{plmn['mcc']}{plmn.get('mnc', '')}"[:6]


def _other_party(body, service: str) -> str:
    if service in VOICE:
        ims = body.get("iMSChargingInformation") or {}
        address = ims.get("calledPartyAddress", "") if isinstance(ims, dict) else ""
    elif service in SMS:
        sms = body.get("sMSChargingInformation") or {}
        recipients = sms.get("recipientInfo") or [] if isinstance(sms, dict) else []
        first = recipients[0] if recipients and isinstance(recipients[0], dict) else {}
        address = (first.get("recipientOtherAddress") or {}).get("sMaddressData", "")
    else:
        return ""
    digits = "".join(ch for ch in str(address) if ch.isdigit())
    return digits[:32]


def _instant(body) -> dt.datetime | None:
    value = body.get("invocationTimeStamp")
    if value is None:
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest("invocationTimeStamp", "an RFC 3339 date-time with its offset")
    return parsed.astimezone(dt.UTC)


# --- writing a ChargingDataResponse ------------------------------------------------------------


def _granted(service: str, units: int) -> dict:
    if service in VOICE:
        return {"time": units}
    if service == Service.DATA:
        return {"totalVolume": units}
    return {"serviceSpecificUnits": units}


def _response(answer: dict, *, sequence: int, service: str, group) -> dict:
    result = answer["result"]
    unit = {"resultCode": UNIT_RESULTS.get(result, "SUCCESS")}
    if group is not None:
        unit["ratingGroup"] = group
    if answer["grantedUnits"] or result == online.SUCCESS:
        unit["grantedUnit"] = _granted(service, answer["grantedUnits"])
    if answer["validityTime"]:
        unit["validityTime"] = answer["validityTime"]
    if answer["finalUnit"]:
        unit["finalUnitIndication"] = {"finalUnitAction": "TERMINATE"}
    else:
        unit["triggers"] = [
            {"triggerType": "QUOTA_EXHAUSTED", "triggerCategory": "IMMEDIATE_REPORT"},
            {"triggerType": "VALIDITY_TIME", "triggerCategory": "IMMEDIATE_REPORT"},
        ]
    return {
        "invocationTimeStamp": timezone.now().isoformat().replace("+00:00", "Z"),
        "invocationSequenceNumber": sequence,
        "multipleUnitInformation": [unit],
    }


def _gone(answer: dict) -> JsonResponse:
    return problem(404, "CONTEXT_NOT_FOUND", f"{answer['result']}: {answer['detail']}".strip(": "))


# --- the views ----------------------------------------------------------------------------------


def _client(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return online.charging_client_authenticate(token.strip())


def _endpoint(handler):
    @csrf_exempt
    @login_not_required
    @require_POST
    def view(request, *args, **kwargs):
        client = _client(request)
        if client is None:
            response = problem(401, "UNAUTHORIZED", "a host network's bearer token is required")
            response["WWW-Authenticate"] = 'Bearer realm="nchf-convergedcharging"'
            return response
        try:
            return handler(request, client.host_network, _body(request), *args, **kwargs)
        except BadRequest as error:
            return problem(400, error.cause, error.reason,
                           [{"param": error.param, "reason": error.reason}])  # fmt: skip
        except online.ChargingError as error:
            return problem(400, "CHARGING_FAILED", str(error),
                           [{"param": error.field or "body", "reason": str(error)}])  # fmt: skip

    view.__name__ = handler.__name__
    return view


@_endpoint
def charging_data_create(request, network, body):
    """Create: open a session (initial request) or charge a one-time event."""
    sequence = _sequence(body)
    msisdn, imsi = _subscriber(body)
    usage = _unit_usage(body)
    service = _service(usage, body)
    common = {
        "host_network": network, "session_id": _charging_id(body), "request_number": sequence,
        "msisdn": msisdn, "imsi": imsi, "service": service,
        "other_party": _other_party(body, service), "visited_plmn": _plmn(body),
        "charging_id": _charging_id(body), "started_at": _instant(body),
    }  # fmt: skip
    if body.get("oneTimeEvent"):
        units = _units(usage.get("requestedUnit"), service, "requestedUnit") or 1
        answer = online.charging_event(units=units, **common)
    else:
        requested = _units(usage.get("requestedUnit"), service, "requestedUnit")
        pdu = body.get("pDUSessionChargingInformation") or {}
        info = pdu.get("pduSessionInformation") or {} if isinstance(pdu, dict) else {}
        apn = str(info.get("dnnId", ""))[:64] if isinstance(info, dict) else ""
        answer = online.charging_initiate(requested_units=requested, apn=apn, **common)
    refused = CREATE_REFUSALS.get(answer["result"])
    if refused is not None:
        return problem(refused[0], refused[1], f"{answer['result']} {answer['detail']}".strip())
    response = JsonResponse(
        _response(answer, sequence=sequence, service=service, group=usage.get("ratingGroup")),
        status=201,
    )
    response["Location"] = request.build_absolute_uri(
        reverse("nchf:chargingdata-update", args=[answer["reference"]]).rsplit("/", 1)[0]
    )
    return response


def _session_service(network, reference: str) -> str | None:
    from charging.online.models import ChargingSession

    return (
        ChargingSession.objects.filter(host_network=network, reference=reference)
        .values_list("service", flat=True)
        .first()
    )


class _UnitReader:
    """Reads a MultipleUnitUsage by the session's service, which the service learns locked.

    The service of a session decides which unit field counts (seconds, octets, units): the
    charging service calls these with it, so the session is read once (issue 16, benchmark).
    """

    def __init__(self, usage: dict) -> None:
        self.usage = usage
        self.service = None

    def used(self, service: str) -> int:
        self.service = service
        return _used(self.usage, service)

    def requested(self, service: str) -> int:
        self.service = service
        return _units(self.usage.get("requestedUnit"), service, "requestedUnit")


def _not_found(answer: dict, reference: str) -> JsonResponse:
    if answer["result"] == Refusal.UNKNOWN_SESSION:
        return problem(404, "CONTEXT_NOT_FOUND", f"no charging data {reference}")
    return _gone(answer)


@_endpoint
def charging_data_update(request, network, body, reference):
    """Update: units used since the last report, more units asked for."""
    sequence = _sequence(body)
    usage = _unit_usage(body)
    reader = _UnitReader(usage)
    answer = online.charging_update(
        host_network=network, reference=reference, request_number=sequence,
        used_units=reader.used, requested_units=reader.requested,
    )  # fmt: skip
    if answer["result"] in SESSION_GONE:
        return _not_found(answer, reference)
    # A repeated request is answered from its stored answer, without reading the units.
    service = reader.service or _session_service(network, reference)
    return JsonResponse(
        _response(answer, sequence=sequence, service=service, group=usage.get("ratingGroup"))
    )


@_endpoint
def charging_data_release(request, network, body, reference):
    """Release: the final units used; the rest is released (204 No Content)."""
    sequence = _sequence(body)
    usage = _unit_usage(body)
    reader = _UnitReader(usage)
    answer = online.charging_terminate(
        host_network=network, reference=reference, request_number=sequence,
        used_units=reader.used,
    )  # fmt: skip
    if answer["result"] in SESSION_GONE:
        return _not_found(answer, reference)
    return HttpResponse(status=204)
