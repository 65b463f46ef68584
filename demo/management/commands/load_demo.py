"""The demo department: the agencies since 2019 (agencies/data/), one account per role, a department year (Q3/2019
to Q1/2020) with the seed report's inspection campaigns, the work of 2025 and 2026 across the reorganisations,
and recent dossiers in every state, all made through the services (idempotent)."""

from contextlib import contextmanager
from datetime import date, datetime

from django.core.management.base import BaseCommand
from django.db import connection

from cases.models import Case
from demo.accounts import DEMO_PASSWORD, accounts_make, logins_table, memberships_on, memberships_today
from demo.clock import HCM, at, in_process
from demo.portal import applicant_logins, portal_demo_load


@contextmanager
def _unflushed_commits():
    """SQLite (the embedded mode) does not wait for the disk at each of the build's thousands of small commits; a
    build cut short is run again on a fresh database anyway. The usual safety comes back when it ends."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        level = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(level)}")


class Command(BaseCommand):
    help = "Load the demo agencies, accounts and cases (idempotent) and print the demo logins."

    def handle(self, *args, verbosity=1, **options):
        users = accounts_make()
        if Case.objects.exists():
            memberships_today(users)
            with in_process(quiet=verbosity < 2):
                portal_demo_load(officer=users["canbo1"], head=users["lanhdao"])  # adds nothing when present
            if verbosity:
                self.stdout.write("Demo cases already present; accounts checked.")
        else:
            with in_process(quiet=verbosity < 2), _unflushed_commits():
                self._cases(users, verbosity)
        applicants = ", ".join(f"{name} ({organisation})" for name, organisation in applicant_logins())
        self.stdout.write(self.style.SUCCESS(f"Demo logins (the password of every account is {DEMO_PASSWORD}; "
                                             f"applicants sign in at /portal/: {applicants}):"))
        for line in logins_table(users):
            self.stdout.write(line)

    def _cases(self, users, verbosity):
        from cases.competence import agency_history_load_file
        from demo.campaigns import DemoCampaigns
        from demo.recent import recent_dossiers
        from demo.report import DemoReport
        from demo.since2025 import DemoSince2025
        from demo.year import DemoYear
        from reports.services import figures_rebuild, quarters_freeze

        if verbosity:
            self.stdout.write("Building the department's year Q3/2019 to Q1/2020, then 2025 and 2026 across the "
                              "reorganisations (a minute or two)...")
        agency_history_load_file()  # the agencies, their signers and competences: data, kept in the admin
        with at(datetime(2019, 7, 1, 7, 30, tzinfo=HCM)):
            memberships_on(users, date(2019, 7, 1))
        year = DemoYear(officers=[users["canbo1"], users["canbo2"]], head=users["lanhdao"]).build()
        campaigns = DemoCampaigns(lead=users["truongdoan"], inspectors=[users["thanhtra1"], users["thanhtra2"]],
                                  head=users["lanhdao"]).build()
        reports = DemoReport(users=users).build()  # the seed report (Q4/2019, issued) and the Q1/2020 draft
        since = DemoSince2025(users=users)
        later = since.build()
        recent = recent_dossiers(officer=users["canbo1"], head=users["lanhdao"])
        online = portal_demo_load(officer=users["canbo1"], head=users["lanhdao"])
        figures_rebuild()  # open cases run on into today's quarter
        quarters_freeze()  # the ended quarters' figures as reported, kept from now on
        if verbosity:
            self.stdout.write(f"Made {year} dossiers of that year and {campaigns} inspection campaigns of Q4/2019, "
                              f"{reports} periodic reports, {later} dossiers and {since.campaigns} campaigns of 2025-2026, "
                              f"{recent} recent dossiers and {online} online dossiers of the applicants' "
                              f"accounts: {Case.objects.count()} cases.")
