"""Try a Gy session against a running Gy server: CER, CCR-I, CCR-U, CCR-T (or one event)."""

from django.core.management.base import BaseCommand, CommandError

from charging.online import gy
from charging.online.gy_client import (
    DATA_UNIT,
    SMS_UNIT,
    VOICE_UNIT,
    GyClient,
    GyClientError,
)

UNITS = {
    "data": (DATA_UNIT, 10, "octets"),
    "voice": (VOICE_UNIT, 100, "s"),
    "sms": (SMS_UNIT, 200, "messages"),
}


def describe(answer) -> str:
    parts = [f"Result-Code {answer.result_code}"]
    for mscc in getattr(answer, "multiple_services_credit_control", None) or []:
        unit = getattr(mscc, "granted_service_unit", None)
        if unit is not None:
            for name in (DATA_UNIT, VOICE_UNIT, SMS_UNIT):
                value = getattr(unit, name, None)
                if value is not None:
                    parts.append(f"granted {value} ({name.replace('_', '-')})")
        if getattr(mscc, "validity_time", None):
            parts.append(f"Validity-Time {mscc.validity_time} s")
        if getattr(mscc, "final_unit_indication", None) is not None:
            parts.append("Final-Unit-Indication TERMINATE")
    if gy.error_message_of(answer):
        parts.append(f"({gy.error_message_of(answer)})")
    return ", ".join(parts)


class Command(BaseCommand):
    help = "Run one Gy session (or an SMS event) against a Gy server and print every answer."

    def add_arguments(self, parser):
        parser.add_argument("subscriber", help="MSISDN (E.164 digits) or imsi-<digits>")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=3868)
        parser.add_argument(
            "--origin-host",
            required=True,
            help="a peer allowed on the server (manage.py gy_peer list)",
        )
        parser.add_argument("--origin-realm", required=True)
        parser.add_argument("--destination-realm", default="billing.local")
        parser.add_argument("--service", choices=sorted(UNITS), default="data")
        parser.add_argument(
            "--requested",
            type=int,
            default=1_000_000,
            help="units asked for in the initial and the update request",
        )
        parser.add_argument(
            "--used",
            type=int,
            default=500_000,
            help="units reported used in the update and the terminate",
        )
        parser.add_argument(
            "--event",
            action="store_true",
            help="one EVENT_REQUEST (direct debiting) instead of a session",
        )

    def handle(self, *args, **o):
        kind, group, word = UNITS[o["service"]]
        msisdn, imsi = (
            ("", o["subscriber"][5:])
            if o["subscriber"].startswith("imsi-")
            else (o["subscriber"], "")
        )
        client = GyClient(
            o["host"],
            o["port"],
            origin_host=o["origin_host"],
            origin_realm=o["origin_realm"],
            destination_realm=o["destination_realm"],
        )
        try:
            cea = client.connect()
            self.stdout.write(f"CEA: Result-Code {cea.result_code} from {cea.origin_host.decode()}")
            session = client.new_session_id()
            self.stdout.write(f"Session-Id {session} ({o['service']}, {word})")
            common = {
                "session_id": session,
                "msisdn": msisdn,
                "imsi": imsi,
                "rating_group": group,
                "unit_kind": kind,
            }
            if o["event"]:
                answer = client.credit_control(
                    request_type=gy.EVENT, number=0, requested=o["requested"], **common
                )
                self.stdout.write(f"CCA-E: {describe(answer)}")
            else:
                steps = [
                    ("CCA-I", gy.INITIAL, {"requested": o["requested"]}),
                    ("CCA-U", gy.UPDATE, {"requested": o["requested"], "used": o["used"]}),
                    ("CCA-T", gy.TERMINATE, {"used": o["used"]}),
                ]
                for number, (label, request_type, units) in enumerate(steps):
                    answer = client.credit_control(
                        request_type=request_type, number=number, **units, **common
                    )
                    self.stdout.write(f"{label}: {describe(answer)}")
                    if answer.result_code != gy.SUCCESS:
                        break
            dwa = client.watchdog()
            self.stdout.write(f"DWA: Result-Code {dwa.result_code}")
        except (OSError, GyClientError) as error:
            raise CommandError(f"Gy server {o['host']}:{o['port']}: {error}") from error
        finally:
            client.close()
