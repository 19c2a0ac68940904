"""The host network's usage file format, CSV version 1 (shared/docs/mno-cdr-format.md).

Pure functions: read a file's name, header and trailer, and turn one line into a normalised
record or a rejection reason. No database access, so the same code serves mediation, the rating
simulator and the benchmarks.
"""

import csv
import datetime as dt
import gzip
import io
import re
import zlib
from dataclasses import dataclass

from catalog.models import Service

HEADER = (
    "record_id,record_type,served_msisdn,served_imsi,event_time,utc_offset,duration,other_party,"
    "volume_uplink,volume_downlink,apn,visited_plmn,cause_for_termination,charging_id"
)
FIELD_COUNT = 14
FILE_NAME = re.compile(
    r"^CDR_(?P<source>[A-Za-z0-9]+)_(?P<time>\d{14})_(?P<seq>\d{6})\.csv(\.gz)?$"
)
RECORD_SERVICES = {
    "MOC": Service.VOICE_OUT,
    "MTC": Service.VOICE_IN,
    "SMSO": Service.SMS_OUT,
    "SMST": Service.SMS_IN,
    "PGW": Service.DATA,
}
CAUSES = frozenset({"NORMAL", "ABNORMAL", "PARTIAL"})
GZIP_MAGIC = b"\x1f\x8b"

# An offset's text to the timedelta it adds to UTC (a handful of values, parsed once each).
_OFFSETS: dict[str, dt.timedelta] = {}


def _digits(text: str) -> bool:
    """Tell whether a text is ASCII digits only (``str.isdigit`` also takes "²" and "١")."""
    return text.isascii() and text.isdigit()


class CdrError(Exception):
    """A record that cannot be accepted, with its reason code (RejectReason)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class FileName:
    source: str
    file_time: dt.datetime
    sequence: int


def parse_file_name(name: str) -> FileName | None:
    """Read SOURCE, time and SEQ from ``CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv[.gz]``."""
    match = FILE_NAME.match(name.rsplit("/", 1)[-1])
    if match is None:
        return None
    try:
        file_time = dt.datetime.strptime(match["time"], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return FileName(match["source"].upper(), file_time, int(match["seq"]))


# What reading a damaged file may raise: a bad gzip frame, a cut-off stream, bytes not UTF-8.
READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError)


# A CDR line is about 100 characters; one longer than this is refused with its reason (R16), and
# no line is ever held whole past it, so memory stays bounded whatever a file holds (a gzip
# bomb of one 400 MB line included).
MAX_LINE_CHARS = 65_536
_SKIP_CHARS = 1 << 20


def open_lines(binary, *, max_chars: int = MAX_LINE_CHARS):
    """Read a file's lines as text, streaming, gunzipping when it is gzip-compressed.

    ``binary`` is a seekable binary file. Lines end at ``\\n`` only (their ends kept):
    ``str.splitlines`` would also break a line at ``\\x0b``, ``\\x1c``, ``\\x85``, ``\\u2028`` and
    other separators that may stand inside a field, and so miscount records (R16, R18).
    A line of more than ``max_chars`` characters is read in pieces and only its first
    ``max_chars + 1`` are yielded (without a line end), so that ``split_fields`` refuses it as
    too long; the rest is skipped. Iterating the result raises one of READ_ERRORS on a damaged
    file.
    """
    head = binary.read(2)
    binary.seek(0)
    if head == GZIP_MAGIC:
        binary = gzip.GzipFile(fileobj=binary, mode="rb")
    return _bounded_lines(io.TextIOWrapper(binary, encoding="utf-8", newline="\n"), max_chars)


def _bounded_lines(text: io.TextIOWrapper, max_chars: int):
    limit = max_chars + 1  # the line's characters and its "\n"
    readline = text.readline
    while line := readline(limit):
        if len(line) < limit or line[-1] == "\n":
            yield line
            continue
        # Longer than any record: skip the rest of the line without holding it.
        rest = line
        while rest and rest[-1] != "\n":
            rest = readline(_SKIP_CHARS)
        yield line


@dataclass(slots=True)
class UsageRecord:
    """A record normalised: aware UTC start, service, units in the base unit (R5, R6)."""

    line_number: int
    raw: str
    record_id: str
    record_type: str
    service: str
    msisdn: str
    imsi: str
    started_at: dt.datetime
    utc_offset: str
    duration: int
    volume_uplink: int
    volume_downlink: int
    units: int
    other_party: str
    apn: str
    visited_plmn: str
    cause: str
    charging_id: str
    source: str = ""


def _offset(text: str) -> dt.timedelta:
    delta = _OFFSETS.get(text)
    if delta is None:
        if len(text) != 5 or text[0] not in "+-" or not _digits(text[1:]):
            raise CdrError("BAD_TIME", f"utc_offset {text!r}")
        hours, minutes = int(text[1:3]), int(text[3:5])
        if hours > 14 or minutes > 59:
            raise CdrError("BAD_TIME", f"utc_offset {text!r}")
        delta = dt.timedelta(hours=hours, minutes=minutes)
        delta = _OFFSETS[text] = delta if text[0] == "+" else -delta
    return delta


_UTC = dt.UTC


def parse_time(event_time: str, utc_offset: str) -> dt.datetime:
    """Turn ``YYYYMMDDhhmmss`` local time and ``±hhmm`` into an aware UTC instant (R6).

    The local wall time less the offset, computed directly in UTC: no time-zone object and no
    ``astimezone`` per record (issue 14), the same instant.
    """
    if len(event_time) != 14 or not (event_time.isascii() and event_time.isdigit()):
        raise CdrError("BAD_TIME", f"event_time {event_time!r}")
    delta = _offset(utc_offset)
    try:
        local = dt.datetime(
            int(event_time[0:4]),
            int(event_time[4:6]),
            int(event_time[6:8]),
            int(event_time[8:10]),
            int(event_time[10:12]),
            int(event_time[12:14]),
            tzinfo=_UTC,
        )
    except ValueError as error:
        raise CdrError("BAD_TIME", f"event_time {event_time!r}") from error
    try:
        return local - delta if delta else local
    except OverflowError as error:  # e.g. 00010101000000 at +0200: before year 1 in UTC
        raise CdrError("BAD_TIME", f"event_time {event_time!r} {utc_offset}") from error


# What the usage event's columns hold: seconds in a 32-bit field, bytes (uplink + downlink) in
# a 64-bit one; a larger number is a bad record, not a failed file.
MAX_DURATION = 2**31 - 1
MAX_VOLUME = 10**18
MAX_NUMBER_DIGITS = {"served_msisdn": 15, "other_party": 32}
MAX_TEXT = 64  # apn, charging_id


def _count(value: str, name: str, maximum: int = MAX_VOLUME) -> int:
    if value == "":
        return 0
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        raise CdrError("BAD_NUMBER", f"{name} {value[:40]!r}")
    number = int(value)
    if number > maximum:
        raise CdrError("BAD_NUMBER", f"{name} {value[:40]!r}")
    return number


def parse_fields(fields: list[str], *, line_number: int, raw: str) -> UsageRecord:
    """Validate one record's fields and normalise it; raise CdrError with the reason code."""
    if len(fields) != FIELD_COUNT:
        raise CdrError("BAD_FIELD_COUNT", f"{len(fields)} columns, {FIELD_COUNT} expected")
    (
        record_id,
        record_type,
        msisdn,
        imsi,
        event_time,
        utc_offset,
        duration,
        other_party,
        uplink,
        downlink,
        apn,
        visited_plmn,
        cause,
        charging_id,
    ) = fields
    if not 1 <= len(record_id) <= 64:
        raise CdrError("BAD_FIELD", "record_id must have 1 to 64 characters")
    service = RECORD_SERVICES.get(record_type)
    if service is None:
        raise CdrError("BAD_RECORD_TYPE", f"record_type {record_type!r}")
    seconds = _count(duration, "duration", MAX_DURATION)
    up = _count(uplink, "volume_uplink")
    down = _count(downlink, "volume_downlink")
    started_at = parse_time(event_time, utc_offset)
    if msisdn and not (_digits(msisdn) and len(msisdn) <= MAX_NUMBER_DIGITS["served_msisdn"]):
        raise CdrError("BAD_NUMBER", f"served_msisdn {msisdn!r}")
    if imsi and (len(imsi) != 15 or not _digits(imsi)):
        raise CdrError("BAD_NUMBER", f"served_imsi {imsi!r}")
    if not msisdn and not imsi:
        raise CdrError("NO_SUBSCRIBER_ID", "served_msisdn and served_imsi are both empty")
    if other_party and not (
        _digits(other_party) and len(other_party) <= MAX_NUMBER_DIGITS["other_party"]
    ):
        raise CdrError("BAD_NUMBER", f"other_party {other_party!r}")
    if service in (Service.VOICE_OUT, Service.SMS_OUT) and not other_party:
        raise CdrError("BAD_FIELD", "other_party is empty for an outgoing call or SMS")
    if not (5 <= len(visited_plmn) <= 6 and _digits(visited_plmn)):
        raise CdrError("BAD_FIELD", f"visited_plmn {visited_plmn!r}")
    if cause not in CAUSES:
        raise CdrError("BAD_FIELD", f"cause_for_termination {cause!r}")
    if len(apn) > MAX_TEXT or len(charging_id) > MAX_TEXT:
        raise CdrError("BAD_FIELD", f"apn and charging_id have at most {MAX_TEXT} characters")
    if service == Service.DATA:
        units = up + down
    elif service in (Service.VOICE_OUT, Service.VOICE_IN):
        units = seconds
    else:
        units = 1
    return UsageRecord(
        line_number=line_number,
        raw=raw,
        record_id=record_id,
        record_type=record_type,
        service=service,
        msisdn=msisdn,
        imsi=imsi,
        started_at=started_at,
        utc_offset=utc_offset,
        duration=seconds,
        volume_uplink=up,
        volume_downlink=down,
        units=units,
        other_party=other_party,
        apn=apn,
        visited_plmn=visited_plmn,
        cause=cause,
        charging_id=charging_id,
    )


# A line with none of these characters splits at its commas exactly as the csv module reads it;
# a line with any of them goes through the csv module (quoting, a stray carriage return) or is
# refused (a NUL: no field may hold one, and PostgreSQL text cannot store it).
_CSV_SPECIAL = re.compile(r'["\r\n\x00]')


def split_fields(raw: str) -> list[str]:
    """Split a record line into its fields (RFC 4180 quoting); raise CdrError when unreadable."""
    if len(raw) <= MAX_LINE_CHARS and _CSV_SPECIAL.search(raw) is None:
        return raw.split(",")
    if len(raw.rstrip("\r\n")) > MAX_LINE_CHARS:
        raise CdrError(
            "BAD_FIELD",
            f"the line is longer than {MAX_LINE_CHARS:,} characters; only its beginning is kept",
        )
    if "\x00" in raw:
        raise CdrError("BAD_FIELD", "the line holds a NUL character (kept as \\x00)")
    try:
        return next(csv.reader([raw]), [])
    except csv.Error as error:  # a stray carriage return, a field past the csv size limit
        raise CdrError("BAD_FIELD", f"unreadable CSV: {error}") from error


def parse_line(raw: str, *, line_number: int) -> UsageRecord:
    """Parse one CSV record line (RFC 4180 quoting).

    A line of the usual shape is read by one pattern (_fast_record); any other line, and any
    line the pattern's checks do not accept, is read field by field with every check and its
    reason (parse_fields), so the outcome is the same either way.
    """
    match = _USUAL_LINE(raw)
    if match is not None:
        record = _fast_record(match.groups(), raw, line_number)
        if record is not None:
            return record
    return parse_fields(split_fields(raw), line_number=line_number, raw=raw)


# A record line as nearly every line of a host network's file is: no quoting, ASCII digits
# where numbers stand, each field within its bounds (parse_fields' checks, as one pattern).
_FREE = r'[^,"\r\n\x00]'
_USUAL_LINE = re.compile(
    rf"({_FREE}{{1,64}}),(MOC|MTC|SMSO|SMST|PGW),([0-9]{{0,15}}),([0-9]{{15}})?,([0-9]{{14}}),"
    rf"([+-][0-9]{{4}}),([0-9]{{0,19}}),([0-9]{{0,32}}),([0-9]{{0,19}}),([0-9]{{0,19}}),"
    rf"({_FREE}{{0,64}}),([0-9]{{5,6}}),(NORMAL|ABNORMAL|PARTIAL),({_FREE}{{0,64}})"
).fullmatch
_OUTGOING_NEEDS_PARTY = (Service.VOICE_OUT, Service.SMS_OUT)
_VOICE = (Service.VOICE_OUT, Service.VOICE_IN)
# Seconds into an hour as timedeltas, and per local hour and offset its UTC start: a record's
# instant is then a look-up and one addition (issue 14). Bounded, so memory stays flat.
_SECONDS = tuple(dt.timedelta(seconds=second) for second in range(3600))
_HOURS: dict[tuple[str, str], dt.datetime] = {}
_HOURS_MAX = 50_000


def _fast_record(fields: tuple, raw: str, line_number: int) -> UsageRecord | None:
    """The record of a line _USUAL_LINE matched, or None when a check of parse_fields fails."""
    (record_id, record_type, msisdn, imsi, event_time, utc_offset, duration, other_party,
     uplink, downlink, apn, visited_plmn, cause, charging_id) = fields  # fmt: skip
    imsi = imsi or ""
    if not msisdn and not imsi:
        return None
    service = RECORD_SERVICES[record_type]
    if not other_party and service in _OUTGOING_NEEDS_PARTY:
        return None
    seconds = int(duration) if duration else 0
    up = int(uplink) if uplink else 0
    down = int(downlink) if downlink else 0
    if seconds > MAX_DURATION or up > MAX_VOLUME or down > MAX_VOLUME:
        return None
    minute, second = int(event_time[10:12]), int(event_time[12:14])
    if minute > 59 or second > 59:
        return None
    key = (event_time[:10], utc_offset)
    hour = _HOURS.get(key)
    if hour is None:
        try:
            hour = parse_time(event_time[:10] + "0000", utc_offset)
        except CdrError:
            return None
        if len(_HOURS) >= _HOURS_MAX:
            _HOURS.clear()
        _HOURS[key] = hour
    try:
        started_at = hour + _SECONDS[minute * 60 + second]
    except OverflowError:
        return None
    if service == _DATA:
        units = up + down
    elif service in _VOICE:
        units = seconds
    else:
        units = 1
    return UsageRecord(line_number, raw, record_id, record_type, service, msisdn, imsi,
                       started_at, utc_offset, seconds, up, down, units, other_party, apn,
                       visited_plmn, cause, charging_id)  # fmt: skip


_DATA = Service.DATA


def storable_text(raw: str) -> str:
    """A rejected line as it can be kept: a NUL (which database text cannot hold) as ``\\x00``."""
    return raw.replace("\x00", "\\x00") if "\x00" in raw else raw


def record_id_of(raw: str) -> str:
    """Return a line's first field as well as it can be read (the id of a rejected line)."""
    raw = storable_text(raw)
    try:
        fields = next(csv.reader([raw]), [])
    except csv.Error:
        fields = raw.split(",", 1)
    return fields[0][:64] if fields else ""


@dataclass(frozen=True, slots=True)
class Layout:
    """What a file's frame says: its header is right, and how many records its trailer counts."""

    header_ok: bool
    record_lines: int
    trailer_count: int | None
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.header_ok and self.trailer_count == self.record_lines and not self.problem


def read_layout(lines) -> Layout:
    """Check the header and count record lines against the trailer (R18), streaming."""
    iterator = iter(lines)
    header = next(iterator, None)
    if header is None:
        return Layout(False, 0, None, "the file is empty")
    header_ok = header.rstrip("\r\n").lstrip("\ufeff") == HEADER
    count, trailer, after_trailer = 0, None, False
    for line in iterator:
        text = line.rstrip("\r\n")
        if trailer is not None:
            if text:
                after_trailer = True
            continue
        if text.startswith("TRAILER,"):
            value = text.split(",", 1)[1]
            # -1: not a number; -2: more than the file row can hold (both quarantine, R18).
            trailer = -1 if not _digits(value) else -2 if len(value) > 9 else int(value)
            continue
        if text:
            count += 1
    problem = ""
    if not header_ok:
        problem = "the first line is not the expected header"
    elif trailer is None:
        problem = "the trailer line is missing"
    elif trailer == -2:
        problem = "the trailer's record count is larger than any file holds"
    elif trailer < 0:
        problem = "the trailer's record count is not a number"
    elif trailer != count:
        problem = f"the trailer counts {trailer} records, the file holds {count}"
    elif after_trailer:
        problem = "lines follow the trailer"
    return Layout(header_ok, count, trailer if trailer is not None and trailer >= 0 else None,
                  problem)  # fmt: skip


def iter_records(lines):
    """Yield ``(line_number, raw_line)`` for every record line (header and trailer skipped)."""
    for number, line in enumerate(lines, start=1):
        text = line.rstrip("\r\n")
        if number == 1 or not text:
            continue
        if text.startswith("TRAILER,"):
            return
        yield number, text
