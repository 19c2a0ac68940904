"""``python manage.py reconcile YYYY-MM``: reconcile a period's usage chain (R33) on demand."""

import re

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Reconcile a period's usage chain (R33) and run the leakage checks."

    def add_arguments(self, parser):
        parser.add_argument("period", help="the month, YYYY-MM")

    def handle(self, *args, period, **options):
        from assurance.services import reconciliation_run

        match = re.fullmatch(r"(\d{4})-(\d{2})", period)
        if not match:
            raise CommandError("give the period as YYYY-MM, e.g. 2026-10")
        try:
            outcome = reconciliation_run(year=int(match[1]), month=int(match[2]), trigger="command")
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        run = outcome.reconciliation
        for row in run.rows.all():
            self.stdout.write(
                f"{row.source or 'all sources':<12} received {row.received} = accepted "
                f"{row.accepted} + rejected {row.rejected} + duplicates {row.duplicates}; "
                f"rated {row.rated}, in error {row.in_error}; retail {row.rated_retail} = "
                f"invoiced {row.invoiced_usage} + unbilled {row.unbilled} + rounding "
                f"{row.rounding} (difference {row.difference}); wholesale {row.wholesale}"
            )
        self.stdout.write(
            f"{'balanced' if run.balanced else 'NOT balanced'}; {run.findings} finding(s); "
            f"{run.seconds} s"
        )
