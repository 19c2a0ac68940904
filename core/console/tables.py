"""The one table base class of the console."""

import django_tables2 as tables

PAGE_SIZES = (25, 50, 100, 250)


class ConsoleTable(tables.Table):
    """A sortable, paginated table; columns marked ``exclude_from_export`` stay off the CSV.

    ``totals`` names the money or quantity columns whose sums over the whole filtered list
    (every page) stand under them; ``optional_columns`` are hidden until the user chooses them
    (a wide list then fits the screen with its money columns in sight).
    """

    totals: tuple[str, ...] = ()
    optional_columns: tuple[str, ...] = ()

    def paginate(self, *args, per_page=None, **kwargs):
        """Page by a size the console offers (?per_page=…), else by the table's own."""
        if per_page not in PAGE_SIZES:
            per_page = self._meta.per_page
        return super().paginate(*args, per_page=per_page, **kwargs)

    class Meta:
        attrs = {"class": "table"}
        template_name = "core/table.html"
        per_page = 25
