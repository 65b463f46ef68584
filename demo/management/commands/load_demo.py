"""The demo department: one account per role, a department year (Q3/2019 to Q1/2020) with the seed report's
inspection campaigns, and recent dossiers in every state, all made through the services (idempotent)."""

from django.core.management.base import BaseCommand

from cases.models import Case
from demo.accounts import DEMO_PASSWORD, accounts_make, logins_table
from demo.clock import in_process


class Command(BaseCommand):
    help = "Load the demo accounts and cases (idempotent) and print the demo logins."

    def handle(self, *args, verbosity=1, **options):
        users = accounts_make()
        if Case.objects.exists():
            if verbosity:
                self.stdout.write("Demo cases already present; accounts checked.")
        else:
            with in_process(quiet=verbosity < 2):
                self._cases(users, verbosity)
        self.stdout.write(self.style.SUCCESS(f"Demo logins (the password of every account is {DEMO_PASSWORD}):"))
        for line in logins_table(users):
            self.stdout.write(line)

    def _cases(self, users, verbosity):
        from demo.campaigns import DemoCampaigns
        from demo.recent import recent_dossiers
        from demo.year import DemoYear
        from reports.services import figures_rebuild, quarters_freeze

        if verbosity:
            self.stdout.write("Building the department's year Q3/2019 to Q1/2020 (about a minute)...")
        year = DemoYear(officers=[users["canbo1"], users["canbo2"]], head=users["lanhdao"]).build()
        campaigns = DemoCampaigns(lead=users["truongdoan"], inspectors=[users["thanhtra1"], users["thanhtra2"]],
                                  head=users["lanhdao"]).build()
        recent = recent_dossiers(officer=users["canbo1"], head=users["lanhdao"])
        figures_rebuild()  # open cases run on into today's quarter
        quarters_freeze()  # the ended quarters' figures as reported, kept from now on
        if verbosity:
            self.stdout.write(f"Made {year} dossiers of that year, {campaigns} inspection campaigns of Q4/2019 and "
                              f"{recent} recent dossiers: {Case.objects.count()} cases.")
