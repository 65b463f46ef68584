"""Load the sanctions catalogue (inspections/data/sanctions_catalogue.json, or a file given) into the database."""

from pathlib import Path

from django.core.management.base import BaseCommand

from inspections.catalogue import catalogue_load


class Command(BaseCommand):
    help = "Load or update the sanctions catalogue (decrees and provisions) from its JSON file."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, default=None)

    def handle(self, *args, file=None, **options):
        decrees, provisions = catalogue_load(path=file)
        self.stdout.write(f"sanctions catalogue: {decrees} decrees, {provisions} provisions")
