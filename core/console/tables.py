"""The one table base class of the console."""

import django_tables2 as tables


class ConsoleTable(tables.Table):
    """A sortable, paginated table; columns marked ``exclude_from_export`` stay off the CSV."""

    class Meta:
        attrs = {"class": "table"}
        template_name = "core/table.html"
        per_page = 25
