"""CSV and XLSX export of a console list, exactly as filtered and sorted on screen.

CSV holds the cells as shown (an empty cell for nothing, booleans as words). XLSX holds them
typed: numbers as numbers (a column shown right-aligned, ``num``, is a number column), instants
as date-times in the console's time zone (named in the header), dates as dates.
"""

import csv
import datetime as dt
import tempfile
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django_tables2 import DateColumn, DateTimeColumn

XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, the header aside
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Echo:
    def write(self, value):
        return value


def _columns(table):
    return [c for c in table.columns.iterall() if not c.column.exclude_from_export]


def _word(value):
    """Show a cell as text: nothing as an empty cell, a boolean as a word."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table_csv_response(table, *, name: str) -> StreamingHttpResponse:
    """Stream every row of a table (all pages) as CSV, header first."""
    writer = csv.writer(_Echo())
    columns = _columns(table)

    def rows():
        yield writer.writerow([str(column.header) for column in columns])
        for row in table.rows:
            yield writer.writerow([_word(row.get_cell_value(c.name)) for c in columns])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_name(name)}.csv"'
    return response


def _is_number_column(column) -> bool:
    return "num" in str(column.column.attrs.get("td", {}).get("class", ""))


def _number(value):
    """Read a number column's cell as a number; text that is not one stays text."""
    if isinstance(value, bool) or value is None:
        return _word(value) or None
    if isinstance(value, int | Decimal):
        return value
    text = str(value).strip().replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return text or None


def _typed(row, column, zone):
    if isinstance(column.column, DateTimeColumn | DateColumn):
        raw = column.accessor.resolve(row.record, quiet=True)
        if isinstance(raw, dt.datetime):
            return raw.astimezone(zone).replace(tzinfo=None) if timezone.is_aware(raw) else raw
        if isinstance(raw, dt.date):
            return raw
    value = row.get_cell_value(column.name)
    if _is_number_column(column):
        return _number(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return value
    return _word(value) or None


def table_xlsx_response(table, *, name: str) -> FileResponse:
    """Write every row of a table (all pages) to an XLSX workbook with typed cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    zone = ZoneInfo(settings.TIME_ZONE)
    columns = _columns(table)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=name[:31] or "export")
    bold = Font(bold=True)
    headers = []
    for column in columns:
        header = str(column.header)
        if isinstance(column.column, DateTimeColumn):
            header = f"{header} ({settings.TIME_ZONE})"
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = bold
        headers.append(cell)
    sheet.append(headers)
    for count, row in enumerate(table.rows):
        if count == XLSX_MAX_ROWS:
            break
        cells = []
        for column in columns:
            value = _typed(row, column, zone)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it when sent
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(
        handle, as_attachment=True, filename=f"{_file_name(name)}.xlsx", content_type=XLSX_TYPE
    )


def _file_name(name: str) -> str:
    return f"{slugify(name)}-{timezone.now():%Y%m%d-%H%M%S}"
