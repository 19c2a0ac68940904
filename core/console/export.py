"""CSV export of a console list, exactly as filtered and sorted on screen."""

import csv

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify


class _Echo:
    def write(self, value):
        return value


def table_csv_response(table, *, name: str) -> StreamingHttpResponse:
    """Stream every row of a table (all pages) as CSV, header first."""
    writer = csv.writer(_Echo())
    rows = (writer.writerow([str(cell) for cell in row]) for row in table.as_values())
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slugify(name)}-{stamp}.csv"'
    return response
