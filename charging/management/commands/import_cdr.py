"""Ingest host-network usage files from the command line, printing one line per file.

The exit status tells a cron job or a shell script what happened, the worst outcome winning:

| status | meaning |
| --- | --- |
| 0 | every file was processed (or handed to workers in parts) |
| 2 | a path is not a readable file: nothing was ingested |
| 3 | a file was refused as a duplicate of one received before (R17) |
| 4 | a file was quarantined whole: its trailer does not match its records (R18) |
| 5 | a file failed (unreadable, unknown source, an unforeseen error): it can be sent again |
| 6 | a file to retry (``--retry``) could not be: unknown, processed already, or a live worker \
holds it |

``--retry <id>`` (repeatable) processes again, here and now, a file left processing by a worker
that stopped (its status says "stalled: no worker holds it"): nothing of the stopped attempt was
written, so the whole file is read and rated from the start. For a file rated in parts, its
failed and stopped parts are rated again. Sending the same bytes again does the same.
"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from charging.models import FileOrigin, FileStatus, UsageFile
from charging.partitions import usage_file_part_process, usage_file_parts_retry
from charging.services import usage_file_ingest, usage_file_process, usage_file_retry

EXIT_BAD_PATH = 2
EXIT_NOT_RETRIED = 6
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
        "4 a file was quarantined, 5 a file failed, 6 a file to retry could not be retried "
        "(the worst outcome wins). --retry <id> processes again a file whose worker stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="*", help="files to ingest, in order")
        parser.add_argument(
            "--retry",
            type=int,
            action="append",
            default=[],
            metavar="ID",
            help="process again the usage file of this id, left processing by a worker that "
            "stopped (stalled); repeatable",
        )

    def handle(self, *args, paths, retry, **options):
        if not paths and not retry:
            raise CommandError("name the files to ingest, or --retry <id>", returncode=1)
        if retry:
            self.retry(retry)
        if paths:
            self.ingest(paths)

    def retry(self, ids) -> None:
        """Process again, here, each file of ``ids`` that no worker holds."""
        refused = []
        worst = 0
        for pk in ids:
            usage_file = UsageFile.objects.filter(pk=pk).first()
            if usage_file is None:
                refused.append(f"usage file {pk}: no such file")
                continue
            try:
                usage_file = self.retry_one(usage_file)
            except ValidationError as error:
                refused.append(f"{usage_file.name}: not retried; {' '.join(error.messages)}")
                continue
            self.stdout.write(self.summary(usage_file))
            worst = max(worst, EXIT_BY_STATUS[usage_file.status])
        for line in refused:
            self.stderr.write(line)
        if refused:
            raise CommandError(
                f"{len(refused)} of {len(ids)} file(s) not retried (see above)",
                returncode=EXIT_NOT_RETRIED,
            )
        if worst:
            raise CommandError("a retried file was not processed (see above)", returncode=worst)

    @staticmethod
    def retry_one(usage_file):
        if usage_file.part_count:
            for part_id in usage_file_parts_retry(usage_file=usage_file):
                usage_file_part_process(part=usage_file.parts.get(pk=part_id))
            usage_file.refresh_from_db()
            return usage_file
        usage_file = usage_file_retry(usage_file=usage_file)
        return usage_file_process(usage_file=usage_file)

    def ingest(self, paths) -> None:
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
            done = usage_file.parts.filter(status="done").count()
            return f"{usage_file.name}: processing; rated by workers in {parts} parts, {done} done"
        detail = " ".join(usage_file.status_detail.split())
        return f"{usage_file.name}: {usage_file.status}; {detail}"
