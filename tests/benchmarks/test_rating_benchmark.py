"""benchmarks.rating runs end to end on a small file and reports what it measured."""

import json

import pytest
from django.db import connection

from benchmarks.common import print_result
from benchmarks.rating import run


@pytest.mark.django_db
def test_rating_benchmark_rates_every_generated_record(capsys):
    figures = run(records=300, subscriptions=20)
    assert figures["accepted"] == 300 and figures["rejected"] == 0
    assert figures["records_per_s"] > 0
    if connection.vendor == "postgresql":
        # The write floor copies what the run wrote, indexed and not, and reports both.
        floor = figures["write_floor_records_per_s"]
        assert set(floor) == {"indexed", "unindexed"} and min(floor.values()) > 0
        assert set(figures["write_floor_ratio_to_copy"]) == {"indexed", "unindexed"}
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'floor_%%'")
            assert cursor.fetchone()[0] == 0  # nothing of the measurement is kept
    else:
        assert figures["write_floor_records_per_s"] is None
    print_result(figures)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    assert json.loads(last[len("RESULT ") :])["benchmark"] == "rating"
