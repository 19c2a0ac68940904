"""Delete old outbox events whose deliveries are all delivered (docs/operations.md)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from core.outbox.services import outbox_events_purge


class Command(BaseCommand):
    help = (
        "Delete outbox events older than --days (default 90) whose deliveries are all "
        "delivered (--include-failed: or failed), with their deliveries and attempts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--include-failed", action="store_true")

    def handle(self, *args, days, include_failed, **options):
        if days < 1:
            raise CommandError("--days must be 1 or more")
        deleted = outbox_events_purge(
            older_than=dt.timedelta(days=days), include_failed=include_failed
        )
        self.stdout.write(f"{deleted} event(s) deleted")
