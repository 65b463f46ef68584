from django.core.management.base import BaseCommand, CommandError

from cases.competence import HISTORY_FILE, agency_history_load_file


class Command(BaseCommand):
    help = ("Load agencies, their successors, signers and the types each handles from a JSON file (default: "
            "agencies/data/thai_binh_hung_yen.json). Idempotent; rows already there are updated.")

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(HISTORY_FILE))

    def handle(self, *args, path, **options):
        try:
            counts = agency_history_load_file(path)
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"{path}: {error}") from error
        self.stdout.write(", ".join(f"{name}: {count}" for name, count in counts.items()))
