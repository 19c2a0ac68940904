"""Detach an old month from the usage store for archiving (PostgreSQL, charging.usage_store)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from charging.usage_store import usage_month_detach, usage_months


class Command(BaseCommand):
    help = (
        "Detach a month's partition of the usage events (YYYY-MM) for archiving: its events "
        "leave the usage store as a table of their own, to be dumped and dropped. --list shows "
        "the months held."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", nargs="?", help="the month to detach, YYYY-MM")
        parser.add_argument("--list", action="store_true", dest="show", help="list the months held")

    def handle(self, *args, month=None, show=False, **options):
        if show or not month:
            for held in usage_months():
                self.stdout.write(f"{held:%Y-%m}")
            if not month:
                return
        try:
            wanted = dt.datetime.strptime(month, "%Y-%m").date()
        except ValueError as error:
            raise CommandError(f"{month!r} is not a month (YYYY-MM)") from error
        try:
            detached = usage_month_detach(month=wanted)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(
            f"{detached['month']:%Y-%m} detached: {detached['events']} events now in table "
            f"{detached['table']}; archive it (pg_dump -t {detached['table']}) and drop it"
        )
