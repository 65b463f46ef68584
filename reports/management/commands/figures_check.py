"""python manage.py figures_check [--quarter 2019-Q4 ...] [--repair]

Compares the kept quarterly figures (and each case's contribution) with a rebuild from the cases, and the frozen
figures of closed quarters with the same rebuild, agency by agency. Prints one line per difference (naming the
agency by its code) and a one-line summary.

  mismatch  kept cell ≠ rebuilt cell. --repair rebuilds the kept cells and every contribution from the cases.
  case      a case's kept contribution ≠ its rebuilt cells (the drill-down); repaired the same way.
  drift     in a closed quarter, frozen cell ≠ rebuilt cell. Never repaired: the frozen figures are what was
            reported and are never overwritten; the cause (a case changed behind the services, a changed rule) has
            to be found and explained.

Exit status 0 when everything agrees (or every mismatch was repaired and no quarter drifted), 1 otherwise.
Without --quarter it checks every quarter that has figures or a frozen snapshot, and the current one.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from reports import services
from reports.models import ClosedQuarter
from reports.quarters import Quarter


class Command(BaseCommand):
    help = "Compare the kept quarterly figures with a rebuild from the cases, and closed quarters with their frozen " \
           "figures; non-zero exit status on any difference left."

    def add_arguments(self, parser):
        parser.add_argument("--quarter", action="append", default=[],
                            help="e.g. 2019-Q4 (may be given more than once; default: every quarter with data)")
        parser.add_argument("--repair", action="store_true",
                            help="rebuild the kept figures from the cases when they differ (frozen figures of "
                                 "closed quarters are never changed)")

    def handle(self, *args, quarter, repair, **options):
        try:
            quarters = sorted({Quarter.parse(text) for text in quarter})
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if not quarters:
            frozen = {Quarter(year, number) for year, number in ClosedQuarter.objects.values_list("year", "quarter")}
            quarters = sorted({*services.quarters_with_figures(), *frozen, Quarter.current()})
        check = services.figures_check(quarters=quarters, repair=repair)
        for m in check.mismatches:
            self.stdout.write(f"mismatch  {m['agency_code']}  {m['code']}  {m['quarter']}  {m['metric']}  "
                              f"kept {m['kept']}  rebuilt {m['rebuilt']}")
        for c in check.contribution_mismatches:
            self.stdout.write(f"case      {c['reference']} (id {c['case']})  kept {_cells(c['kept'])}  "
                              f"rebuilt {_cells(c['rebuilt'])}")
        if check.contributions_mismatched > len(check.contribution_mismatches):
            self.stdout.write(f"case      … and {check.contributions_mismatched - len(check.contribution_mismatches)}"
                              " more cases")
        for d in check.drift:
            self.stdout.write(f"drift     {d['agency_code']}  {d['code']}  {d['quarter']}  {d['metric']}  "
                              f"frozen {d['frozen']}  rebuilt {d['rebuilt']}  kept {d['kept']}  "
                              f"(frozen at {d['frozen_at']})")
        drifted = sorted({d["quarter"] for d in check.drift})
        parts = [
            f"{len(check.quarters)} quarters ({check.quarters[0]}…{check.quarters[-1]})" if len(check.quarters) > 1
            else f"quarter {check.quarters[0]}",
            f"{check.cells_compared} cells compared",
            f"{len(check.mismatches)} mismatches" + (" (repaired)" if check.repaired and check.mismatches else ""),
            f"{check.contributions_mismatched} case contributions differing"
            + (" (repaired)" if check.repaired and check.contributions_mismatched else ""),
            f"{len(check.closed_quarters_compared)} closed quarters against their frozen figures",
            f"{len(check.drift)} drifted cells" + (f" in {', '.join(drifted)} (not repaired)" if drifted else ""),
        ]
        unresolved = services.check_unresolved(check)
        self.stdout.write(f"figures_check {'FAILED' if unresolved else 'OK'}: " + ", ".join(parts)
                          + f" (check {check.pk})")
        if unresolved:
            sys.exit(1)


def _cells(cells: dict) -> str:
    return "{" + ", ".join(sorted(cells)) + "}"
