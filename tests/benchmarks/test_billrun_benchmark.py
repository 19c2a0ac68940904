"""The bill run benchmark drafts, issues and renders, checks itself and prints its figures."""

import json
from decimal import Decimal

import pytest
from django.db import connection

from benchmarks.billrun import FEE, main

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def test_benchmark_prints_its_figures_and_every_account_is_billed_once(capsys, settings,
                                                                       tmp_path):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    returned = main(["--accounts", "40", "--events", "400", "--pdfs", "2", "--chunk", "15",
                     "--in-place"])  # fmt: skip

    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(last.removeprefix("RESULT "))
    assert figures == returned
    assert (figures["accounts"], figures["draft_invoices"], figures["issued_invoices"]) == (
        40, 40, 40
    )  # fmt: skip
    assert figures["accounts_billed_twice"] == 0 and figures["errors"] == 0
    assert figures["numbers_gapless"] is True
    assert figures["pdfs"] == 2 and figures["pdfs_per_s"] > 0
    assert figures["weasyprint_alone_pdfs_per_s"] > 0
    # No account was invoiced before: each pays November in advance, the days of October it
    # used, and its usage.
    assert Decimal(figures["net_total"]) > 40 * FEE
