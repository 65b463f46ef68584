"""python manage.py quarterly_report --quarter 2019-Q4 --format csv|xlsx|docx|json [--output FILE]"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from reports.exports import EXPORTS
from reports.quarters import Quarter
from reports.tables import quarterly_report


class Command(BaseCommand):
    help = "Write the quarter's report tables (procedure results, processing statistics) in one format."

    def add_arguments(self, parser):
        parser.add_argument("--quarter", required=True, help="e.g. 2019-Q4")
        parser.add_argument("--format", default="csv", choices=["json", *EXPORTS])
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, quarter, format, output, **options):
        try:
            parsed = Quarter.parse(quarter)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        report = quarterly_report(parsed)
        data = (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode() if format == "json" \
            else EXPORTS[format][0](report)
        if output:
            with open(output, "wb") as handle:
                handle.write(data)
            self.stderr.write(f"{output}: {len(data)} bytes")
        elif format in ("json", "csv"):
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            raise CommandError("Binary formats need --output FILE.")
