"""benchmarks.rating runs end to end on a small file and reports what it measured."""

import json

import pytest

from benchmarks.common import print_result
from benchmarks.rating import run


@pytest.mark.django_db
def test_rating_benchmark_rates_every_generated_record(capsys):
    figures = run(records=300, subscriptions=20)
    assert figures["accepted"] == 300 and figures["rejected"] == 0
    assert figures["records_per_s"] > 0
    print_result(figures)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    assert json.loads(last[len("RESULT ") :])["benchmark"] == "rating"
