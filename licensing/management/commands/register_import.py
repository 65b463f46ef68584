"""python manage.py register_import FILE --agency CODE [--dry-run] [--user NAME] [--json]

Imports a department's past register (CSV in UTF-8, with or without BOM, or XLSX: by the file's extension) into the
agency's records, or with --dry-run only checks it: see licensing/imports.py and the template
docs/register-import-template.csv. Prints the report: each row's errors (row, column, message), the rows imported
before (skipped), the quarters the dossiers count in, the number counters raised. Nothing is written unless every
row is right. Exit status 1 when the register has errors.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from cases.errors import DomainError
from licensing.imports import ImportReport, register_import, register_max_bytes, register_read

EXTENSIONS = (".csv", ".xlsx")


class Command(BaseCommand):
    help = "Import a past register of dossiers and permits (CSV or XLSX), or check it with --dry-run."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the register: .csv (UTF-8) or .xlsx")
        parser.add_argument("--agency", required=True, help="the code of the agency whose register it is")
        parser.add_argument("--dry-run", action="store_true", help="only check the rows; write nothing")
        parser.add_argument("--user", help="user name of the head or administrator the import is recorded under "
                                           "(default: the first active superuser)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the report as JSON")

    def handle(self, *args, file, agency, dry_run, user, as_json, **options):
        path = Path(file)
        if path.suffix.lower() not in EXTENSIONS:
            raise CommandError(_("The register must be a .csv or .xlsx file."))
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        if path.stat().st_size > register_max_bytes():
            raise CommandError(_("The register is larger than %(limit)d bytes.") % {"limit": register_max_bytes()})
        actor = _actor(user)
        try:
            sheet = register_read(name=path.name, data=path.read_bytes())
            report = register_import(rows=sheet.rows, columns=sheet.columns, actor=actor, agency=agency,
                                     dry_run=dry_run, source=sheet.name, sha256=sheet.sha256)
        except DomainError as error:
            raise CommandError(str(error.detail)) from None
        if as_json:
            self.stdout.write(_json(report))
        else:
            self.stdout.write(report_text(report))
        if not report.ok:
            raise CommandError(_("%(count)d errors: nothing was imported.") % {"count": len(report.errors)})


def _json(report: ImportReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)


def _actor(username: str | None):
    User = get_user_model()
    if username:
        found = User.objects.filter(username=username, is_active=True).first()
        if found is None:
            raise CommandError(_("No active user %(name)s.") % {"name": username})
        return found
    found = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    if found is None:
        raise CommandError(_("Name the user the import is recorded under with --user."))
    return found


def report_text(report: ImportReport) -> str:
    """The report as lines for a terminal."""
    lines = [
        _("Register %(source)s (sha256 %(sha)s), agency %(agency)s%(dry)s") % {
            "source": report.source or "-", "sha": report.sha256[:12] or "-", "agency": report.agency,
            "dry": _(": dry run, nothing written") if report.dry_run else ""},
        _("%(rows)d rows; %(imported)d imported; %(skipped)d imported before (skipped); %(errors)d errors") % {
            "rows": report.rows, "imported": report.imported, "skipped": len(report.skipped),
            "errors": len(report.errors)},
    ]
    for error in report.errors:
        lines.append(_("  row %(row)d, “%(column)s”: %(message)s [%(code)s]") % error)
    for skipped in report.skipped:
        lines.append(_("  row %(row)d: imported before as %(reference)s") % skipped)
    for item in report.summary:
        lines.append(f"  {item['procedure']:<28} {item['outcome']:<10} {item['count']:>6}")
    for quarter in report.quarters:
        lines.append(_("  %(label)s (%(quarter)s): %(rows)d dossiers. %(note)s") % quarter)
    for counter in report.numbers:
        missing = ", ".join(str(n) for n in counter["missing"]) + ("…" if counter["missing_count"] > len(
            counter["missing"]) else "")
        lines.append(_("  numbers %(series)s %(symbol)s %(year)d: highest %(highest)d, counter %(counter_before)d → "
                       "%(counter_after)d, next %(next_number)s") % counter
                     + (_("; missing: %(missing)s") % {"missing": missing} if missing else ""))
    lines += [f"  {note}" for note in report.notes]
    return "\n".join(str(line) for line in lines)
