"""benchmarks.online runs both doors against real servers at a tiny size and checks the ledger."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the servers need PostgreSQL")
def test_online_benchmark_drives_both_doors_and_finds_no_overdraft():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.online", "--sessions", "2", "--rates", "4,8",
         "--seconds", "1", "--peers", "1", "--http-workers", "1", "--gy-workers", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "billing_site.settings.local"},
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr[-3000:]
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    figures = json.loads(last.removeprefix("RESULT "))
    assert figures["benchmark"] == "online" and figures["sessions"] == 2
    assert figures["designs"] == ["old", "new"]  # the ORM path beside the hot path
    for door in ("old/http", "old/diameter", "new/http", "new/diameter"):
        steps = figures[door]["steps"]
        # The second step is skipped only when the first was far past saturation.
        assert [step["offered"] for step in steps][:1] == [4.0]
        assert all(step["requests"] > 0 and step["errors"] == 0 for step in steps), steps
        assert all(step["p50_ms"] <= step["p95_ms"] <= step["p99_ms"] for step in steps)
        check = figures[door]["overdraft"]
        assert check["ok"] and check["reservations_held"] == 0
        assert check["reservations_closed"] > 0
    assert "highest rate held with p99 < 25 ms" in completed.stdout
