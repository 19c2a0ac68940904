"""The settlement benchmark settles its month, checks itself and prints its figures."""

import json
from decimal import Decimal

import pytest
from django.db import connection

from benchmarks.settlement import SIM_FEE, main

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def test_benchmark_settles_every_event_and_sim(capsys):
    returned = main(["--accounts", "30", "--events", "300", "--in-place"])

    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(last.removeprefix("RESULT "))
    assert figures == returned
    # The generator spreads events after each activation: a few fall into November.
    assert figures["events_settled"] == figures["events_in_month"] > 250
    assert figures["usage_matches_events"] is True
    assert figures["sims"] == 30
    assert Decimal(figures["total"]) >= 30 * SIM_FEE
    assert figures["run_s"] > 0 and figures["rerun_s"] > 0
