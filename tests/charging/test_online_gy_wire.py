"""The Gy encoding checked by a tool nobody here wrote: tshark decodes every AVP as sent.

One session (CER, CCR-I, CCR-U, CCR-T, DWR, DPR) runs against the Gy server on loopback while
Debian's tshark captures it; the capture is dissected (PDML) and every message of the client's
transcript - requests and the server's answers - is found in it, AVP by AVP, grouped AVPs
recursively: same code and vendor, same bytes, a name tshark knows and the value as sent.
"""

import datetime as dt
import os
import shutil
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from charging.online import gy
from tests.charging.online_builders import MB
from tests.charging.test_online_gy import NOON, client_of, world  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which("tshark") is None, reason="tshark (Debian package tshark) is not installed"
    ),  # fmt: skip
]
LEAF_SKIP = {"diameter.avp.code", "diameter.avp.flags", "diameter.avp.len",
             "diameter.avp.vendorId", "diameter.avp.pad"}  # fmt: skip


def capture(port: int, path, run) -> None:
    """Capture loopback TCP on ``port`` into ``path`` while ``run()`` runs."""
    tshark = subprocess.Popen(
        ["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", str(path)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        said = []
        while "Capturing on" not in (line := tshark.stderr.readline()):
            said.append(line)
            if not line and tshark.poll() is not None or time.monotonic() > deadline:
                text = "".join(said) + tshark.stderr.read()
                if "ermission" in text and not os.environ.get("CI_ISOLATED"):
                    # A developer without capture rights on lo (CI runs as root and requires it).
                    pytest.skip(f"this user may not capture on lo: {text.strip()[:200]}")
                pytest.fail(f"tshark did not start capturing: {text}")
        time.sleep(0.5)
        run()
        time.sleep(0.5)
    finally:
        tshark.send_signal(signal.SIGINT)
        tshark.wait(timeout=30)


def dissected(path, port: int) -> list[ET.Element]:
    pdml = subprocess.run(
        ["tshark", "-r", str(path), "-T", "pdml", "-d", f"tcp.port=={port},diameter"],
        capture_output=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    root = ET.fromstring(pdml)
    for packet in root.iter("packet"):
        for field in packet.iter("field"):
            assert field.get("name") != "_ws.malformed", ET.tostring(packet)[:500]
    return [proto for proto in root.iter("proto") if proto.get("name") == "diameter"]


def header(proto: ET.Element) -> tuple[int, bool]:
    fields = {f.get("name"): f for f in proto.iter("field")}
    return int(fields["diameter.hopbyhopid"].get("show"), 16), fields["diameter.flags.request"].get(
        "show"
    ) == "1"


def avps_of(element: ET.Element) -> list[ET.Element]:
    return [child for child in element if child.get("name") == "diameter.avp"]


def check_avp(sent, seen: ET.Element, path: str) -> int:
    """Compare one AVP as sent with tshark's dissection; return the AVPs checked."""
    children = {child.get("name"): child for child in seen}
    code = int(children["diameter.avp.code"].get("show"))
    assert code == sent.code, f"{path}: code {code} != {sent.code}"
    vendor = children.get("diameter.avp.vendorId")
    assert (int(vendor.get("show")) if vendor is not None else 0) == sent.vendor_id, path
    assert seen.get("value") == sent.as_bytes().hex(), f"{path}: bytes differ"
    # The value is the AVP's own field, diameter.<AVP name>; tshark may add interpretations
    # beside it (e.164.msisdn of a Subscription-Id-Data), which are not the AVP itself.
    value = next(
        child for child in seen
        if child.get("name").startswith("diameter.") and child.get("name") not in LEAF_SKIP
    )  # fmt: skip
    name = value.get("name")
    assert "Unknown" not in name and "unknown" not in value.get("showname"), f"{path}: {name}"
    checked = 1
    if isinstance(sent.value, list):  # grouped: every member, in order
        members = avps_of(value)
        assert len(members) == len(sent.value), f"{path}: members"
        for index, (member, dissected_member) in enumerate(zip(sent.value, members, strict=True)):
            checked += check_avp(member, dissected_member, f"{path}/{name}[{index}]")
    elif isinstance(sent.value, int):
        assert int(value.get("show")) == sent.value, f"{path}: {value.get('show')}"
    elif isinstance(sent.value, str | bytes):
        text = sent.value.decode() if isinstance(sent.value, bytes) else sent.value
        assert value.get("show") == text, f"{path}: {value.get('show')!r} != {text!r}"
    return checked


def test_tshark_decodes_every_avp_of_a_session_as_sent(world, tmp_path):  # noqa: F811
    _, _, server = world
    path = tmp_path / "gy.pcapng"
    client = client_of(server)

    def session():
        client.connect()
        common = {"session_id": client.new_session_id(), "msisdn": "4915100000001",
                  "rating_group": 10, "event_time": NOON + dt.timedelta(seconds=1)}  # fmt: skip
        for number, request_type, units in (
            (0, gy.INITIAL, {"requested": 100 * MB}),
            (1, gy.UPDATE, {"requested": 100 * MB, "used": 60 * MB}),
            (2, gy.TERMINATE, {"used": 30 * MB}),
        ):
            answer = client.credit_control(request_type=request_type, number=number, **units,
                                           **common)  # fmt: skip
            assert answer.result_code == gy.SUCCESS, gy.error_message_of(answer)
        assert client.watchdog().result_code == gy.SUCCESS
        client.close()

    capture(server.port, path, session)

    protos = {header(proto): proto for proto in dissected(path, server.port)}
    commands = []
    checked = 0
    for message in client.transcript:
        key = (message.header.hop_by_hop_identifier, message.header.is_request)
        assert key in protos, f"{message} not in the capture"
        seen = avps_of(protos[key])
        assert len(seen) == len(message.avps), f"{message}: AVP count"
        for index, (avp, dissected_avp) in enumerate(zip(message.avps, seen, strict=True)):
            checked += check_avp(avp, dissected_avp, f"{message.name}[{index}]")
        commands.append((message.header.command_code, message.header.is_request))
    # CER/CEA, three CCR/CCA, DWR/DWA, DPR/DPA: twelve messages, all in the capture.
    assert commands == [(257, True), (257, False), *[(272, True), (272, False)] * 3,
                        (280, True), (280, False), (282, True), (282, False)]  # fmt: skip
    assert checked > 60
