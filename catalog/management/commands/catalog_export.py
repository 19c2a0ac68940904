"""Write the catalogue, or some plans with what they need, as a YAML or JSON document."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from catalog.document import FORMATS, catalog_export, document_dump, format_of
from catalog.models import Plan


class Command(BaseCommand):
    help = "Export the whole catalogue, or --plan CODE (repeatable), as a catalogue document."

    def add_arguments(self, parser):
        parser.add_argument(
            "--plan",
            action="append",
            dest="plans",
            metavar="CODE",
            help="export this plan and what it needs (repeat for several)",
        )
        parser.add_argument(
            "--format", choices=FORMATS, help="yaml (default) or json; -o FILE.json means json"
        )
        parser.add_argument("-o", "--output", help="write to this file instead of standard output")

    def handle(self, *args, plans, format, output, **options):
        try:
            document = catalog_export(plans=plans)
        except Plan.DoesNotExist as error:
            raise CommandError(str(error)) from error
        text = document_dump(document, format or format_of(output) or "yaml")
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as error:
                raise CommandError(f"cannot write {output}: {error.strerror}") from error
            self.stderr.write(f"wrote {output}")
        else:
            self.stdout.write(text, ending="")
