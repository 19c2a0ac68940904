"""The host network's file format (shared/docs/mno-cdr-format.md): names, frame, records."""

import datetime as dt
import gzip
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charging.cdr import (
    HEADER,
    READ_ERRORS,
    CdrError,
    iter_records,
    open_lines,
    parse_file_name,
    parse_line,
    parse_time,
    read_layout,
    record_id_of,
)
from tests.charging.factories import cdr_file, cdr_line


def reason_of(line: str) -> str:
    with pytest.raises(CdrError) as caught:
        parse_line(line, line_number=2)
    return caught.value.reason


def lines_of(content: bytes) -> list[str]:
    return list(open_lines(io.BytesIO(content)))


# --- records ------------------------------------------------------------------------------


def test_a_call_is_normalised_to_utc_seconds_and_its_service():
    parsed = parse_line(cdr_line("A1", duration="61", utc_offset="-0400"), line_number=7)
    assert (parsed.line_number, parsed.record_id, parsed.service) == (7, "A1", "VOICE_OUT")
    assert parsed.started_at == dt.datetime(2026, 10, 5, 13, 0, tzinfo=dt.UTC)
    assert (parsed.duration, parsed.units) == (61, 61)


def test_a_data_session_counts_uplink_plus_downlink_bytes():
    line = cdr_line("D1", "PGW", volume_uplink="1500", volume_downlink="2500", duration="600")
    parsed = parse_line(line, line_number=2)
    assert (parsed.service, parsed.units, parsed.duration) == ("DATA", 4000, 600)


@pytest.mark.parametrize(
    ("record_type", "service"),
    [("SMSO", "SMS_OUT"), ("SMST", "SMS_IN"), ("MTC", "VOICE_IN")],
)
def test_each_record_type_has_its_service(record_type, service):
    parsed = parse_line(cdr_line("R1", record_type), line_number=2)
    assert parsed.service == service
    assert parsed.units == (60 if record_type == "MTC" else 1)


def test_an_imsi_alone_identifies_the_subscriber():
    parsed = parse_line(
        cdr_line("I1", served_msisdn="", served_imsi="262031234500001"), line_number=2
    )
    assert (parsed.msisdn, parsed.imsi) == ("", "262031234500001")


@pytest.mark.parametrize(
    "line",
    [
        cdr_line("X2") + ",extra",
        cdr_line("X2").rsplit(",", 1)[0],
        "",
        "TRAILER",
    ],
    ids=["extra column", "missing column", "empty", "one column"],
)
def test_a_missing_or_extra_column_is_bad_field_count(line):
    assert reason_of(line) == "BAD_FIELD_COUNT"


@pytest.mark.parametrize("record_type", ["XYZ", "moc", "", "GPRS"])
def test_an_unknown_record_type_is_bad_record_type(record_type):
    assert reason_of(cdr_line("X1", record_type)) == "BAD_RECORD_TYPE"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("duration", "-5"),
        ("duration", "1.5"),
        ("duration", " 60"),
        ("duration", "²"),  # a Unicode digit: str.isdigit() says yes, int() says no
        ("duration", "١٢"),  # Arabic-Indic digits are not the format's digits
        ("duration", "2147483648"),  # past the usage event's 32-bit column
        ("volume_uplink", "x"),
        ("volume_uplink", "9" * 5000),  # longer than int() reads
        ("volume_downlink", "1e3"),
        ("volume_downlink", "1000000000000000001"),
        ("served_msisdn", "+4915112340001"),
        ("served_msisdn", "4915112340001234"),  # 16 digits: longer than E.164 allows
        ("served_imsi", "26203123450000"),
        ("served_imsi", "26203123450000a"),
        ("other_party", "030-1234"),
        ("other_party", "4" * 33),
    ],
)
def test_a_number_field_that_is_not_a_non_negative_integer_is_bad_number(column, value):
    assert reason_of(cdr_line("X3", **{column: value})) == "BAD_NUMBER"


def test_the_largest_numbers_the_event_can_hold_are_accepted():
    line = cdr_line("P1", "PGW", volume_uplink=str(10**18), volume_downlink=str(10**18),
                    duration=str(2**31 - 1))  # fmt: skip
    parsed = parse_line(line, line_number=2)
    assert (parsed.units, parsed.duration) == (2 * 10**18, 2**31 - 1)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event_time", "20261340100000"),  # month 13
        ("event_time", "20260230100000"),  # 30 February
        ("event_time", "20261011250000"),  # hour 25
        ("event_time", "2026101110000"),  # 13 digits
        ("event_time", "2026-10-11T10:00"),
        ("event_time", ""),
        ("event_time", "2026101110000²"),
        ("utc_offset", "0200"),
        ("utc_offset", "+2"),
        ("utc_offset", "+02:00"),
        ("utc_offset", "+1500"),
        ("utc_offset", "+0260"),
        ("utc_offset", "+0²00"),
        ("utc_offset", ""),
    ],
)
def test_an_event_time_or_utc_offset_that_does_not_parse_is_bad_time(column, value):
    assert reason_of(cdr_line("X4", **{column: value})) == "BAD_TIME"


@pytest.mark.parametrize(
    ("event_time", "utc_offset"), [("00010101000000", "+0200"), ("99991231235959", "-0200")]
)
def test_an_event_time_that_leaves_the_calendar_in_utc_is_bad_time(event_time, utc_offset):
    line = cdr_line("X6", event_time=event_time, utc_offset=utc_offset)
    assert reason_of(line) == "BAD_TIME"  # kept with its reason, not a crash (R16)


def test_no_msisdn_and_no_imsi_is_no_subscriber_id():
    assert reason_of(cdr_line("X5", served_msisdn="", served_imsi="")) == "NO_SUBSCRIBER_ID"


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("visited_plmn", "2620"),
        ("visited_plmn", "2620312"),
        ("visited_plmn", ""),
        ("cause_for_termination", "normal"),
        ("other_party", ""),  # an outgoing call names whom it called
        ("apn", "a" * 65),
        ("charging_id", "c" * 65),
    ],
)
def test_other_malformed_fields_are_bad_field(column, value):
    assert reason_of(cdr_line("X6", **{column: value})) == "BAD_FIELD"


@pytest.mark.parametrize("record_id", ["", "R" * 65])
def test_a_record_id_of_no_or_more_than_64_characters_is_bad_field(record_id):
    assert reason_of(cdr_line(record_id)) == "BAD_FIELD"
    assert parse_line(cdr_line("R" * 64), line_number=2).record_id == "R" * 64


def test_a_received_call_may_come_from_a_withheld_number():
    parsed = parse_line(cdr_line("M1", "MTC", other_party=""), line_number=2)
    assert parsed.other_party == ""


def test_a_negative_offset_moves_the_local_time_forward_to_utc():
    assert parse_time("20261020150000", "-0400") == dt.datetime(2026, 10, 20, 19, tzinfo=dt.UTC)
    assert parse_time("20261026210000", "+0100") == dt.datetime(2026, 10, 26, 20, tzinfo=dt.UTC)
    assert parse_time("20260101003000", "+0530") == dt.datetime(2025, 12, 31, 19, tzinfo=dt.UTC)


def test_rfc_4180_quoted_fields_may_hold_commas_and_quotes():
    line = cdr_line("Q1", "PGW", apn='"internet,corp ""eu"""', volume_downlink="10")
    line = line.replace("Q1", '"Q,1"', 1)
    parsed = parse_line(line, line_number=2)
    assert (parsed.record_id, parsed.apn, parsed.units) == ("Q,1", 'internet,corp "eu"', 10)
    assert parsed.raw == line
    assert record_id_of(line) == "Q,1"


def test_the_record_id_of_an_unreadable_line_is_its_first_field():
    assert record_id_of('"Q,1",MOC,broken') == "Q,1"
    assert record_id_of("Z9,MOC\rbroken") == "Z9"
    assert record_id_of("") == ""
    assert record_id_of("R" * 80) == "R" * 64


@pytest.mark.parametrize(
    "line",
    [cdr_line("C1").replace("MOC", "MO\rC"), cdr_line("C2", apn="a" * 200_000)],
    ids=["stray carriage return", "field past the csv size limit"],
)
def test_a_line_the_csv_reader_refuses_is_rejected_not_raised(line):
    assert reason_of(line) == "BAD_FIELD"


# --- lines and frame ----------------------------------------------------------------------


def test_lines_end_at_newline_only():
    text = "a,b\u2028c\x0bd\x1ce\x85f\r\nnext\nlast"
    assert lines_of(text.encode()) == ["a,b\u2028c\x0bd\x1ce\x85f\r\n", "next\n", "last"]
    assert lines_of(b"x\n") == ["x\n"]
    assert lines_of(b"") == []


def test_records_are_numbered_by_file_line_skipping_header_empty_lines_and_trailer():
    content = cdr_file([cdr_line("A1"), "", cdr_line("A2")], newline="\r\n", bom=True)
    assert list(iter_records(lines_of(content))) == [
        (2, cdr_line("A1")),
        (4, cdr_line("A2")),
    ]


def test_a_file_with_crlf_bom_and_empty_lines_is_intact():
    content = cdr_file([cdr_line("A1"), "", cdr_line("A2"), ""], newline="\r\n", bom=True)
    layout = read_layout(lines_of(content))
    assert (layout.header_ok, layout.record_lines, layout.trailer_count) == (True, 2, 2)
    assert layout.intact and layout.problem == ""


def test_a_field_holding_a_unicode_line_separator_is_one_record():
    content = cdr_file([cdr_line("U1", "PGW", apn="inter\u2028net", volume_downlink="1")])
    layout = read_layout(lines_of(content))
    assert layout.intact and layout.record_lines == 1


def test_a_file_without_records_has_a_zero_trailer():
    layout = read_layout(lines_of(cdr_file([])))
    assert layout.intact and (layout.record_lines, layout.trailer_count) == (0, 0)


def test_a_missing_trailer_breaks_the_frame():
    layout = read_layout(lines_of(cdr_file([cdr_line("A1")], trailer=None)))
    assert not layout.intact
    assert (layout.trailer_count, layout.problem) == (None, "the trailer line is missing")


def test_a_trailer_that_miscounts_breaks_the_frame():
    layout = read_layout(lines_of(cdr_file([cdr_line("A1"), cdr_line("A2")], trailer=3)))
    assert not layout.intact
    assert layout.problem == "the trailer counts 3 records, the file holds 2"
    assert layout.trailer_count == 3


@pytest.mark.parametrize("count", ["two", "", "-1", "²"])
def test_a_trailer_count_that_is_not_a_number_breaks_the_frame(count):
    layout = read_layout(lines_of(cdr_file([cdr_line("A1")], trailer=count)))
    assert not layout.intact
    assert layout.trailer_count is None
    assert layout.problem == "the trailer's record count is not a number"


def test_a_trailer_count_too_large_for_any_file_breaks_the_frame():
    layout = read_layout(lines_of(cdr_file([cdr_line("A1")], trailer="99999999999")))
    assert not layout.intact
    assert layout.trailer_count is None
    assert layout.problem == "the trailer's record count is larger than any file holds"


def test_lines_after_the_trailer_break_the_frame():
    content = cdr_file([cdr_line("A1")]) + (cdr_line("A2") + "\n").encode()
    layout = read_layout(lines_of(content))
    assert not layout.intact
    assert (layout.record_lines, layout.trailer_count) == (1, 1)
    assert layout.problem == "lines follow the trailer"


def test_empty_lines_after_the_trailer_are_harmless():
    layout = read_layout(lines_of(cdr_file([cdr_line("A1")]) + b"\n\r\n"))
    assert layout.intact


def test_a_wrong_header_breaks_the_frame():
    content = cdr_file([cdr_line("A1")]).replace(b"record_id,", b"id,", 1)
    layout = read_layout(lines_of(content))
    assert not layout.header_ok and not layout.intact
    assert layout.problem == "the first line is not the expected header"


def test_an_empty_file_breaks_the_frame():
    layout = read_layout([])
    assert not layout.intact and layout.problem == "the file is empty"


def test_the_header_is_the_format_s_fourteen_columns():
    assert HEADER.count(",") == 13
    assert HEADER.startswith("record_id,record_type,served_msisdn,served_imsi,event_time")


# --- file names and compression -----------------------------------------------------------


def test_a_file_name_gives_source_time_and_sequence():
    parsed = parse_file_name("CDR_HOSTNET_20261101000500_000123.csv")
    assert (parsed.source, parsed.sequence) == ("HOSTNET", 123)
    assert parsed.file_time == dt.datetime(2026, 11, 1, 0, 5, tzinfo=dt.UTC)


def test_a_gzip_name_and_a_path_are_read_too():
    parsed = parse_file_name("inbox/2026/CDR_hostnet2_20261101000500_000001.csv.gz")
    assert (parsed.source, parsed.sequence) == ("HOSTNET2", 1)


@pytest.mark.parametrize(
    "name",
    [
        "CDR_HOSTNET_20261101000500_00001.csv",  # 5-digit sequence
        "CDR_HOSTNET_20261301000500_000001.csv",  # month 13
        "CDR_HOSTNET_2026110100050_000001.csv",  # 13-digit time
        "CDR_HOST-NET_20261101000500_000001.csv",
        "CDR_HOSTNET_20261101000500_000001.txt",
        "CDR_HOSTNET_20261101000500_000001.csv.zip",
        "cdr_HOSTNET_20261101000500_000001.csv",
        "CDR__20261101000500_000001.csv",
        "",
    ],
)
def test_a_name_off_the_pattern_is_not_parsed(name):
    assert parse_file_name(name) is None


def test_a_gzip_file_is_decompressed_and_a_plain_one_left_as_it_is():
    content = cdr_file([cdr_line("A1")])
    assert "".join(lines_of(gzip.compress(content))) == content.decode()
    assert "".join(lines_of(content)) == content.decode()


@pytest.mark.parametrize(
    "content",
    [b"\x1f\x8b\x08\x00broken", gzip.compress(b"record")[:-6], b"caf\xe9,\xff\n"],
    ids=["not gzip after its magic", "cut short", "not UTF-8"],
)
def test_a_damaged_file_raises_a_read_error_while_streaming(content):
    with pytest.raises(READ_ERRORS):
        lines_of(content)


# --- the usual line's pattern gives what the field-by-field reading gives (issue 14) ------

# Per column: values the format accepts, then values it refuses (or accepts only in some
# combinations, like an empty number).
_FIELD_VALUES = {
    "record_id": (["R1", "x" * 64, "id é"], ["", "x" * 65, 'a"b']),
    "record_type": (["MOC", "MTC", "SMSO", "SMST", "PGW"], ["GPRS"]),
    "served_msisdn": (["4915500000001", "1" * 15], ["", "1" * 16, "49a"]),
    "served_imsi": (["262035500000001", ""], ["26203", "2" * 16]),
    "event_time": (["20261005150000", "20261031235959", "20260229120000", "99991231233000",
                    "20261005155959", "00010102003000"],
                   ["20261005156000", "20261005150060", "20261005240000", "00010101003000",
                    "2026100515000", "20261305150000"]),
    "utc_offset": (["+0200", "-0400", "+0000", "-1400", "+1400"], ["+1500", "+0260", "0200"]),
    "duration": (["0", "", "61", str(2**31 - 1)], [str(2**31), "9" * 19, "1.5", "²"]),
    "other_party": (["4917012345678", "1" * 32], ["", "1" * 33, "+49"]),
    "volume_uplink": (["", "0", "1000", str(10**18)], [str(10**18 + 1)]),
    "volume_downlink": (["", "7"], ["9" * 20]),
    "apn": (["", "internet"], ["a" * 65]),
    "visited_plmn": (["26203", "310260"], ["2620", "3102601", "2620x"]),
    "cause_for_termination": (["NORMAL", "ABNORMAL", "PARTIAL"], ["normal"]),
    "charging_id": (["", "C1"], ["c" * 65]),
}  # fmt: skip


@st.composite
def _lines(draw) -> str:
    """A line of accepted values, with up to two columns given any value (refused ones too)."""
    names = list(_FIELD_VALUES)
    varied = draw(st.sets(st.sampled_from(names), max_size=2))
    values = []
    for name in names:
        accepted, refused = _FIELD_VALUES[name]
        values.append(draw(st.sampled_from(accepted + refused if name in varied else accepted)))
    return ",".join(values)


def _read_field_by_field(line: str):
    from charging.cdr import parse_fields, split_fields

    try:
        return parse_fields(split_fields(line), line_number=2, raw=line)
    except CdrError as error:
        return (error.reason, error.detail)


@given(_lines())
@settings(max_examples=500, deadline=None)
def test_the_usual_line_pattern_reads_every_line_as_the_field_by_field_reading(line):
    try:
        outcome = parse_line(line, line_number=2)
    except CdrError as error:
        outcome = (error.reason, error.detail)
    assert outcome == _read_field_by_field(line)
