"""Demo data of the assurance: October 2026 reconciled (R33) with its leakage findings, and a
what-if of a draft SMART-10 version when the catalogue holds one. A second run changes nothing."""

import datetime as dt

from assurance.models import Reconciliation, WhatIfRun
from assurance.services import reconciliation_run, whatif_run
from catalog.models import PlanVersion, Status
from charging.models import UsageEvent

PERIOD = (2026, 10)
# The what-if rates the last closed period: October, seen from mid-November.
WHAT_IF_AT = dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC)


def load() -> str:
    if not UsageEvent.objects.exists():
        return "skipped: no usage to reconcile"
    run = Reconciliation.objects.filter(period_start_date=dt.date(*PERIOD, 1)).first()
    if run is None:
        run = reconciliation_run(year=PERIOD[0], month=PERIOD[1], trigger="demo").reconciliation
    total = run.rows.get(source="")
    summary = (
        f"October reconciled: received {total.received}, accepted {total.accepted}, rated "
        f"{total.rated}, retail {total.rated_retail} = invoiced {total.invoiced_usage} + unbilled "
        f"{total.unbilled} + rounding {total.rounding}; {run.findings} findings"
    )
    draft = (
        PlanVersion.objects.filter(status=Status.DRAFT, plan__code="SMART-10")
        .order_by("-version")
        .first()
    )
    if draft is not None and not WhatIfRun.objects.filter(plan_version=draft).exists():
        whatif_run(plan_version=draft, now=WHAT_IF_AT)
        summary += f"; what-if of {draft}"
    return summary
