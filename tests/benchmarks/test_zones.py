"""The zone lookup benchmark runs, checks its answers and ends with its RESULT line."""

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.zones import build_zone_data, main

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--prefixes", "300", "--lookups", "3000", "--distinct", "500", "--check", "500"]


def result_of(output: str) -> dict:
    last = output.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    return json.loads(last.removeprefix("RESULT "))


def test_benchmark_prints_its_figures_and_a_result_line(capsys):
    returned = main([*TINY, "--repeat", "1"])

    figures = result_of(capsys.readouterr().out)
    assert figures == returned
    assert (figures["prefixes"], figures["lookups"], figures["checked"]) == (300, 3000, 500)
    assert figures["lookups_per_s"] > 0
    assert figures["roaming_lookups_per_s"] > 0
    assert figures["target_lookups_per_s"] == 500_000


def test_benchmark_table_is_realistic_and_the_same_for_a_seed():
    first = build_zone_data(5000, seed=7)

    assert first == build_zone_data(5000, seed=7)
    assert len(first["prefixes"]) == 5000
    assert first["prefixes"]["49"] == "NAT_FIXED"
    assert first["prefixes"]["4915"] == "NAT_MOBILE"
    assert first["prefixes"]["33"] == "EU"
    assert first["networks"]["208"] == "EU"


def test_benchmark_runs_as_a_module():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.zones", *TINY, "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert result_of(completed.stdout)["benchmark"] == "zones"
