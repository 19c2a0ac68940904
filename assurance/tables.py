"""Console tables of the assurance."""

import django_tables2 as tables

from assurance.models import Finding
from core.console.tables import ConsoleTable


class FindingTable(ConsoleTable):
    title = tables.Column(linkify=True)
    amount_at_risk = tables.Column(attrs={"td": {"class": "num"}})

    class Meta(ConsoleTable.Meta):
        model = Finding
        fields = ("title", "kind", "period_start_date", "state", "amount_at_risk", "currency",
                  "record_count", "recurrences", "owner", "last_seen_at")  # fmt: skip
