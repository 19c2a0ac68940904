"""Ingest host-network usage files from the command line, printing each file's counts."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from charging.models import FileOrigin, FileStatus
from charging.services import usage_file_ingest


class Command(BaseCommand):
    help = "Ingest CDR files (CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv or .csv.gz)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="files to ingest, in order")

    def handle(self, *args, paths, **options):
        failures = 0
        for name in paths:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            with path.open("rb") as content:
                usage_file = usage_file_ingest(
                    name=path.name, content=content, origin=FileOrigin.COMMAND
                )
            if usage_file.status == FileStatus.PROCESSED:
                self.stdout.write(
                    f"{usage_file.name}: {usage_file.status}; read {usage_file.records_read}, "
                    f"accepted {usage_file.records_accepted}, rejected "
                    f"{usage_file.records_rejected}, duplicates {usage_file.records_duplicate}"
                )
            else:
                failures += 1
                self.stdout.write(f"{usage_file.name}: {usage_file.status}; "
                                  f"{usage_file.status_detail}")  # fmt: skip
        if failures:
            self.stderr.write(f"{failures} file(s) not processed (see above)")
