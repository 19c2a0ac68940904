"""The assurance demo reconciles the golden October as the scenario says, once."""

import pytest
import time_machine

from assurance import demo
from assurance.models import Reconciliation
from charging import demo as charging_demo
from invoicing import demo as invoicing_demo

pytestmark = [pytest.mark.django_db, pytest.mark.golden]


def test_the_demo_shows_the_scenarios_assurance_figures(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.catalog.builders import build_golden_catalog
    from tests.subscribers.builders import build_golden_subscribers

    settings.MEDIA_ROOT = tmp_path
    with time_machine.travel("2026-11-02 09:00:00+01:00", tick=False):
        build_golden_subscribers(build_golden_catalog())
        charging_demo.load()
        with django_capture_on_commit_callbacks(execute=True):
            invoicing_demo.load()
    with time_machine.travel("2026-11-10 09:00:00+01:00", tick=False):
        summary = demo.load()
        assert summary.startswith(
            "October reconciled: received 29, accepted 20, rated 19, retail 12.218343 = "
            "invoiced 12.210000 + unbilled 0.000000 + rounding 0.008343; 3 findings"
        ), summary
        assert demo.load() == summary and Reconciliation.objects.count() == 1
