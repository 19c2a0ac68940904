"""Evidence of a dispute item: the events behind our figure, as CSV or XLSX (R31).

What a partner manager sends the host network: every rated event of the disputed service and
roaming zone in the month, with its wholesale units and amount.
"""

import csv
import io

from settlement import selectors
from settlement.models import DisputeItem

EVIDENCE_FIELDS = (
    "record_id",
    "source",
    "service",
    "msisdn",
    "started_at",
    "utc_offset",
    "units",
    "destination_zone",
    "roaming_zone",
    "visited_plmn",
    "wholesale_units",
    "wholesale_amount",
)


def dispute_events(dispute: DisputeItem):
    partner = dispute.partner
    return selectors.wholesale_events(
        source=partner.host_network.code,
        start=dispute.period_start,
        end=dispute.period_end,
        service=dispute.service,
        roaming_zone=dispute.roaming_zone,
    )


def evidence_rows(events):
    for row in events.values_list(*EVIDENCE_FIELDS).iterator(chunk_size=5000):
        yield [value.isoformat() if hasattr(value, "isoformat") else value for value in row]


def evidence_csv(dispute: DisputeItem) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EVIDENCE_FIELDS)
    writer.writerows(evidence_rows(dispute_events(dispute)))
    return buffer.getvalue()


def evidence_xlsx(dispute: DisputeItem) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("events")
    sheet.append(list(EVIDENCE_FIELDS))
    for row in evidence_rows(dispute_events(dispute)):
        sheet.append([str(value) if hasattr(value, "as_tuple") else value for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
