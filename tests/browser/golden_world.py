"""The golden October billed, for the assurance browser tests, and their screenshots.

Screenshots are kept as test artefacts: in SCREENSHOT_DIR when set, else in the test's tmp_path.
"""

import os
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "charging" / "samples"
FILES = [
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101001000_000002.csv",
    "CDR_HOSTNET_20261101000500_000001.csv",
    "CDR_HOSTNET_20261101003000_000004.csv",
]


def golden_october_billed(*, at: str | None = None):
    """Load the golden catalogue and subscribers, its usage files, and bill October (issued).

    ``at``: the instant the files arrive and the run is issued (e.g. "2026-11-02 09:00:00+01:00",
    the invoices then fall due on the 16th); by default now. Returns (catalogue, subscribers,
    bill run)."""
    import contextlib

    import time_machine

    from charging.services import usage_file_ingest
    from invoicing.demo import invoice_profile_create
    from invoicing.services import (
        bill_cycle_save,
        bill_run_create,
        bill_run_execute,
        bill_run_issue,
    )
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    catalog = build_golden_catalog()
    invoice_profile_create(catalog.brand)
    subscribers = build_golden_subscribers(catalog)
    clock = time_machine.travel(at, tick=False) if at else contextlib.nullcontext()
    with clock:
        for name in FILES:
            usage_file_ingest(name=name, content=(SAMPLES / name).read_bytes(), origin="command")
        cycle = bill_cycle_save(brand=catalog.brand, cycle_day=1)
        run = bill_run_execute(bill_run=bill_run_create(cycle=cycle, year=2026, month=10))
        bill_run_issue(bill_run=run)
    return catalog, subscribers, run


def screenshot_taker(tmp_path):
    """Return ``shot(page, name)``, saving a full-page screenshot as ``assurance-<name>.png``
    (``shot.folder``: where the artefacts go)."""
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name):
        path = folder / f"assurance-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0

    shot.folder = folder
    return shot
