"""Write a periodic report as DOCX or PDF: `report_document --period 2019-Q4 --format docx|pdf --output FILE`
(an issued report prints its frozen content; one not yet issued, its draft as it stands)."""

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from reports.models import Report
from reports.periods import Period
from reports.report_selectors import report_file


class Command(BaseCommand):
    help = "Write the periodic report of a period (DOCX or PDF)."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="2019-Q4, 2020-H1 or 2020")
        parser.add_argument("--format", choices=("docx", "pdf"), default="docx")
        parser.add_argument("--output", required=True, help="the file to write")
        parser.add_argument("--agency", help="the agency's code, when several agencies have a report of the period")

    def handle(self, *args, period, format, output, agency=None, **options):
        try:
            period = Period.parse(period)
        except ValueError as error:
            raise CommandError(str(error)) from None
        reports = Report.objects.filter(period=str(period)).select_related("agency")
        if agency:
            if not Agency.objects.filter(code=agency).exists():
                raise CommandError(f"no agency {agency!r}")
            reports = reports.filter(agency__code=agency)
        found = list(reports[:2])
        if not found:
            raise CommandError(f"no report of {period}")
        if len(found) > 1:
            raise CommandError(f"several agencies have a report of {period}: name one with --agency")
        data, _content_type, _name = report_file(found[0], format)
        with open(output, "wb") as handle:
            handle.write(data)
        self.stdout.write(f"{output}: {len(data)} bytes ({found[0].number_text or 'draft'}, {format})")
