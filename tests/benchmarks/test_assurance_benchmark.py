"""benchmarks.assurance runs end to end on a tiny period and reports what it measured."""

import json

import pytest
from django.db import connection

from benchmarks.assurance import run
from benchmarks.common import print_result


@pytest.mark.django_db
def test_assurance_benchmark_reconciles_every_generated_event(capsys, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    figures = run(events=600, seed_records=200, subscriptions=20)
    expected = 600 if connection.vendor == "postgresql" else 200
    assert figures["events"] == expected
    # Every event is counted in the chain and the chain balances (R33).
    assert figures["received"] == expected
    assert figures["rated"] + 0 <= expected and figures["balanced"] is True
    assert figures["reconcile_s"] >= 0 and figures["findings"] > 0  # unbilled accounts
    print_result(figures)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last[len("RESULT ") :])["benchmark"] == "assurance"
