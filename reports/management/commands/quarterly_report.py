"""python manage.py quarterly_report --quarter 2019-Q4 [--agency CODE] --format csv|xlsx|docx|json [--output FILE]

The report of one agency: the one named, else the one agency that existed in the quarter (several: an error naming
them)."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from cases.errors import DomainError
from reports.exports import EXPORTS
from reports.quarters import Quarter
from reports.tables import quarterly_report, report_agency


class Command(BaseCommand):
    help = "Write one agency's report tables of a quarter (procedure results, processing statistics, inspections) in " \
           "one format."

    def add_arguments(self, parser):
        parser.add_argument("--quarter", required=True, help="e.g. 2019-Q4")
        parser.add_argument("--agency", help="the agency's code, e.g. thai-binh-stttt (default: the one agency that "
                                             "existed in the quarter)")
        parser.add_argument("--format", default="csv", choices=["json", *EXPORTS])
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, quarter, format, output, agency=None, **options):
        try:
            parsed = Quarter.parse(quarter)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        requested = None
        if agency:
            requested = Agency.objects.filter(code=agency).values_list("pk", flat=True).first()
            if requested is None:
                raise CommandError(f"no agency with the code {agency!r}")
        try:
            chosen = report_agency(parsed, agency_ids=Agency.objects.values_list("pk", flat=True),
                                   requested=requested)
        except DomainError as exc:
            choices = ", ".join(choice["code"] for choice in exc.extra.get("agencies", []))
            raise CommandError(f"{exc.detail}" + (f" (--agency {choices})" if choices else "")) from None
        report = quarterly_report(parsed, agency=chosen)
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
