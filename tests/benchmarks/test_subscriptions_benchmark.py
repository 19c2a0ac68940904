"""The subscriber look-up benchmark loads, measures, checks every answer and cleans up."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.subscriptions import BRAND_CODE, MSISDN_PREFIX, generate_lives, main
from catalog.models import Brand, TaxRegion
from subscribers.models import Customer, Subscription, SubscriptionTerm

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--subscriptions", "500", "--singles", "200", "--batches", "2"]


def result_of(output: str) -> dict:
    last = output.strip().splitlines()[-1]
    assert last.startswith("RESULT ")
    return json.loads(last.removeprefix("RESULT "))


@pytest.mark.django_db
def test_benchmark_in_place_prints_its_figures_and_leaves_nothing_behind(capsys):
    returned = main([*SMALL, "--in-place"])

    output = capsys.readouterr().out
    figures = result_of(output)
    assert figures == returned
    terms = sum(len(life.steps) for life in generate_lives(500))
    assert (figures["subscriptions"], figures["terms"]) == (500, terms)
    assert (figures["single_lookups"], figures["batches"], figures["batch_size"]) == (200, 2, 1000)
    assert figures["wrong_answers"] == 0
    # A batch naming every one of 500 subscriptions may rightly scan; one look-up never.
    assert figures["single_uses_term_indexes"] is True
    assert figures["single_lookups_per_s"] > 0 and figures["batched_lookups_per_s"] > 0
    assert "term_msisdn_from" in output and "term_imsi_from" in output
    assert not Subscription.objects.exists()
    assert not SubscriptionTerm.objects.filter(msisdn__startswith=MSISDN_PREFIX).exists()
    assert not Customer.objects.exists()
    assert not Brand.objects.filter(code=BRAND_CODE).exists()
    assert not TaxRegion.objects.filter(code=BRAND_CODE).exists()


def test_generated_lives_are_the_same_for_a_seed_and_start_pending():
    lives = generate_lives(300)

    assert lives == generate_lives(300)
    assert lives[0].msisdn == f"{MSISDN_PREFIX}000000" and len(lives[0].imsi) == 15
    for life in lives:
        starts = [start for start, _, _ in life.steps]
        assert starts == sorted(set(starts))
        assert life.steps[0][1] == "pending" and life.steps[1][1] == "active"
    assert {life.steps[-1][1] for life in lives} == {"active", "terminated"}
    assert any(status == "suspended" for life in lives for _, status, _ in life.steps)
    assert any(life.steps[-1][2] != life.steps[0][2] for life in lives)


def test_benchmark_runs_as_a_module_in_a_throwaway_database():
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.subscriptions", *SMALL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    figures = result_of(completed.stdout)
    assert (figures["benchmark"], figures["subscriptions"], figures["wrong_answers"]) == (
        "subscriptions",
        500,
        0,
    )
