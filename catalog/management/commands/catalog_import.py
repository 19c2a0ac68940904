"""Load a catalogue document (YAML or JSON) through the catalogue services, all or nothing."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from catalog.document import (
    FORMATS,
    CatalogDocumentError,
    catalog_import,
    document_load,
    format_of,
)


class Command(BaseCommand):
    help = (
        "Import a catalogue document (docs/catalog-format.md): objects are matched by code, "
        "created or updated, never deleted; any error leaves the catalogue as it was."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the document, or - to read standard input")
        parser.add_argument("--dry-run", action="store_true", help="check and report, save nothing")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="yaml or json; by default from the file name (YAML reads JSON too)",
        )
        parser.add_argument("--user", help="username recorded as the author of the changes")

    def handle(self, *args, file, dry_run, format, user, **options):
        acting_user = None
        if user:
            acting_user = get_user_model().objects.filter(username=user).first()
            if acting_user is None:
                raise CommandError(f"no user {user!r}")
        if file == "-":
            text = sys.stdin.buffer.read()
        else:
            try:
                text = Path(file).read_bytes()
            except OSError as error:
                raise CommandError(f"cannot read {file}: {error.strerror}") from error
        try:
            document = document_load(text, format=format or format_of(file))
            summary = catalog_import(document=document, acting_user=acting_user, dry_run=dry_run)
        except CatalogDocumentError as error:
            lines = "\n".join(f"  {line}" for line in error.text().splitlines())
            count = len(error.errors)
            raise CommandError(
                f"{file}: {count} error{'s' if count != 1 else ''}, nothing imported:\n{lines}"
            ) from error
        for action, kind, label in summary.changed:
            self.stdout.write(f"{action:<9} {kind} {label}")
        if int(options.get("verbosity", 1)) > 1:
            for action, kind, label in summary.actions:
                if action == "unchanged":
                    self.stdout.write(f"{action:<9} {kind} {label}")
        self.stdout.write(self.style.SUCCESS(f"{file}: {summary}"))
