"""A line longer than any record is refused with its reason, read without holding it (R16)."""

import gzip
import io
import tracemalloc
from pathlib import Path

import pytest
from django.core.files.base import ContentFile

from charging.cdr import MAX_LINE_CHARS, CdrError, open_lines, split_fields
from charging.models import FileOrigin, FileStatus, RejectedRecord, UsageFile
from charging.services import usage_file_ingest

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILE_1 = "CDR_HOSTNET_20261101000500_000001.csv"


def test_a_line_of_the_limit_is_read_and_one_past_it_is_refused():
    at_limit = "x" * MAX_LINE_CHARS
    past = "y" * (MAX_LINE_CHARS + 10)
    lines = list(open_lines(io.BytesIO(f"{at_limit}\n{past}\nend\n".encode())))
    assert lines[0] == f"{at_limit}\n"
    assert lines[1] == "y" * (MAX_LINE_CHARS + 1)  # its beginning, no line end
    assert lines[2] == "end\n"
    assert split_fields(lines[0].rstrip("\n")) == [at_limit]
    with pytest.raises(CdrError) as refused:
        split_fields(lines[1])
    assert refused.value.reason == "BAD_FIELD"
    assert f"longer than {MAX_LINE_CHARS:,} characters" in refused.value.detail


@pytest.mark.django_db
def test_a_gzip_bomb_is_read_in_bounded_memory_and_its_long_line_kept_as_a_reject(
    golden_subscribers,
):
    header, *records = (SAMPLES / FILE_1).read_text().splitlines()[:-1]
    bomb_size = 100_000_000
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as packed:
        packed.write(f"{header}\n{records[0]}\n".encode())
        packed.write(b"A99,MOC," + b"9" * bomb_size + b"\n")
        packed.write(b"TRAILER,2\n")
    assert raw.tell() < 200_000  # the bomb: a small file holding one huge line
    content = ContentFile(raw.getvalue(), name="bomb.csv.gz")
    tracemalloc.start()
    try:
        usage_file = usage_file_ingest(
            name="CDR_HOSTNET_20261101011000_000010.csv.gz", content=content,
            origin=FileOrigin.COMMAND,
        )  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000, f"peak {peak:,} bytes while reading a {bomb_size:,}-byte line"
    usage_file = UsageFile.objects.get(pk=usage_file.pk)
    assert usage_file.status == FileStatus.PROCESSED
    assert (usage_file.records_read, usage_file.records_accepted) == (2, 1)
    assert usage_file.records_rejected == 1  # read = accepted + rejected + duplicates (R16)
    reject = RejectedRecord.objects.get(usage_file=usage_file)
    assert reject.reason == "BAD_FIELD"
    assert reject.line_number == 3
    assert reject.record_id == "A99"
    assert reject.raw.startswith("A99,MOC,999")
    assert len(reject.raw) == MAX_LINE_CHARS + 1
