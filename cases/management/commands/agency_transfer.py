"""python manage.py agency_transfer --from CODE --on YYYY-MM-DD [--map TYPE=CODE ...] [--dry-run] [--json]

Moves an agency's open cases (and its closed campaigns with corrections still to verify) to its successors as of a
reorganisation date, each to the successor competent for its type that day (cases.transfer). Prints the plan: per
successor the cases (reference, type, state, due date, assignee), then errors and warnings. With an error (a type
no successor handles, and no --map for it) nothing is moved and the exit status is 1. Run it with --dry-run first.
"""

import json
import sys
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation

from agencies.models import Agency
from cases.errors import DomainError
from cases.models import CaseType
from cases.transfer import PlannedCase, TransferPlan, TransferRefused, agency_transfer


class Command(BaseCommand):
    help = "Move an agency's open cases to its successors on a reorganisation date (one audited operation)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="source", required=True, help="the code of the agency that ended")
        parser.add_argument("--on", required=True, help="the reorganisation date, YYYY-MM-DD")
        parser.add_argument("--map", dest="mapping", action="append", default=[], metavar="TYPE=CODE",
                            help="send the cases of a type to this agency (may be given more than once)")
        parser.add_argument("--dry-run", action="store_true", help="print what would move; write nothing")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the plan as JSON")
        parser.add_argument("--by", default="", metavar="USERNAME",
                            help="the administrator named on the timeline (default: the system)")
        parser.add_argument("--note", default="", help="added to the timeline note, e.g. the decision's number")

    def handle(self, *args, source, on, mapping, dry_run, as_json, by, note, **options):
        # Messages and stored text in the department's language (a command starts with translations off).
        with translation.override(settings.LANGUAGE_CODE):
            self._handle(source=source, on=on, mapping=mapping, dry_run=dry_run, as_json=as_json, by=by, note=note)

    def _handle(self, *, source, on, mapping, dry_run, as_json, by, note):
        agency = Agency.objects.filter(code=source).first()
        if agency is None:
            raise CommandError(f"--from: no agency with code {source!r}")
        try:
            day = date.fromisoformat(on)
        except ValueError:
            raise CommandError(f"--on: {on!r} is not a date (YYYY-MM-DD)") from None
        targets = {}
        for item in mapping:
            type_code, _sep, agency_code = item.partition("=")
            if not CaseType.objects.filter(code=type_code).exists():
                raise CommandError(f"--map {item}: no case type {type_code!r}")
            target = Agency.objects.filter(code=agency_code).first()
            if target is None:
                raise CommandError(f"--map {item}: no agency with code {agency_code!r}")
            targets[type_code] = target
        actor = None
        if by:
            actor = get_user_model().objects.filter(username=by, is_active=True).first()
            if actor is None:
                raise CommandError(f"--by: no active user {by!r}")
        try:
            plan = agency_transfer(agency=agency, on=day, actor=actor, dry_run=dry_run, mapping=targets, note=note)
        except TransferRefused as refused:
            self._print(refused.plan, as_json=as_json, refused=True)
            sys.exit(1)
        except DomainError as error:
            raise CommandError(str(error.detail)) from None
        self._print(plan, as_json=as_json, refused=False)

    def _print(self, plan: TransferPlan, *, as_json: bool, refused: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({**plan.as_dict(), "refused": refused}, ensure_ascii=False, indent=2))
            return
        self.stdout.write(plan_text(plan, refused=refused))


def plan_text(plan: TransferPlan, *, refused: bool = False) -> str:
    """The plan as a readable table."""
    what = "dry run" if plan.dry_run else ("REFUSED, nothing moved" if refused else f"{plan.moved} cases moved")
    lines = [f"Transfer of {plan.agency} ({plan.agency.code}) on {plan.on:%d/%m/%Y}: {what}"]
    for destination in plan.destinations:
        lines += ["", f"→ {destination.agency} ({destination.agency.code}): {len(destination.cases)} cases"]
        lines += _table(destination.cases)
    if plan.staying:
        lines += ["", f"Staying with {plan.agency} (it still handles their type on that date): {len(plan.staying)}"]
        lines += _table(plan.staying)
    if not plan.destinations and not plan.staying and not plan.errors:
        lines += ["", "Nothing to move: the agency holds no open case."]
    for title, problems in (("Errors (nothing moves until they are resolved)", plan.errors),
                            ("Warnings", plan.warnings)):
        if problems:
            lines += ["", f"{title}:"]
            for problem in problems:
                cases = f" [{', '.join(problem.cases)}]" if problem.cases and problem.code != "not_member" else ""
                lines.append(f"  - {problem.message}{cases}")
    return "\n".join(lines)


def _table(cases: list[PlannedCase]) -> list[str]:
    rows = [("reference", "type", "state", "due", "assignee")]
    for case in cases:
        due = timezone.localtime(case.due_at).strftime("%d/%m/%Y %H:%M") if case.due_at else "–"
        state = case.state_label + (" (follow-ups open)" if case.closed_with_open_work else "")
        rows.append((case.reference, case.case_type, state, due, case.assignee or "–"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip()
            for row in rows]
