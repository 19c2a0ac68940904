"""Ingest host-network usage files from the command line, printing one line per file.

The exit status tells a cron job or a shell script what happened, the worst outcome winning:

| status | meaning |
| --- | --- |
| 0 | every file was processed (or handed to workers in parts) |
| 2 | a path is not a readable file: nothing was ingested |
| 3 | a file was refused as a duplicate of one received before (R17) |
| 4 | a file was quarantined whole: its trailer does not match its records (R18) |
| 5 | a file failed (unreadable, unknown source, an unforeseen error): it can be sent again |
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from charging.models import FileOrigin, FileStatus
from charging.services import usage_file_ingest

EXIT_BAD_PATH = 2
EXIT_BY_STATUS = {
    FileStatus.PROCESSED: 0,
    FileStatus.PROCESSING: 0,  # a large file split into parts that workers are rating
    FileStatus.DUPLICATE: 3,
    FileStatus.QUARANTINED: 4,
    FileStatus.FAILED: 5,
}


class Command(BaseCommand):
    help = (
        "Ingest CDR files (CDR_<SOURCE>_<YYYYMMDDhhmmss>_<SEQ>.csv or .csv.gz), one line per file. "
        "Exit status: 0 all processed, 2 a path is not a file, 3 a duplicate file was refused, "
        "4 a file was quarantined, 5 a file failed (the worst outcome wins)."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="files to ingest, in order")

    def handle(self, *args, paths, **options):
        missing = [name for name in paths if not Path(name).is_file()]
        if missing:
            raise CommandError(
                f"not a file: {', '.join(missing)}; nothing was ingested", returncode=EXIT_BAD_PATH
            )
        worst = 0
        not_processed = 0
        for name in paths:
            path = Path(name)
            with path.open("rb") as content:
                usage_file = usage_file_ingest(
                    name=path.name, content=content, origin=FileOrigin.COMMAND
                )
            self.stdout.write(self.summary(usage_file))
            code = EXIT_BY_STATUS[usage_file.status]
            not_processed += code != 0
            worst = max(worst, code)
        if worst:
            raise CommandError(
                f"{not_processed} of {len(paths)} file(s) not processed (see above)",
                returncode=worst,
            )

    @staticmethod
    def summary(usage_file) -> str:
        """Say in one line what became of a file."""
        if usage_file.status == FileStatus.PROCESSED:
            return (
                f"{usage_file.name}: {usage_file.status}; read {usage_file.records_read}, "
                f"accepted {usage_file.records_accepted}, rejected "
                f"{usage_file.records_rejected}, duplicates {usage_file.records_duplicate}"
            )
        if usage_file.status == FileStatus.PROCESSING:
            parts = usage_file.part_count
            return f"{usage_file.name}: processing; rated by workers in {parts} parts"
        detail = " ".join(usage_file.status_detail.split())
        return f"{usage_file.name}: {usage_file.status}; {detail}"
