"""The one filter base class of the console."""

import django_filters


class ConsoleFilter(django_filters.FilterSet):
    """A filter form shown beside a list; the same filters drive its CSV export."""
