"""Print the demo signing credentials' paths, making them first if needed (the embedded mode's demo CA)."""

from django.core.management.base import BaseCommand

from documents.demo_ca import PASSWORD_NAME, demo_credentials


class Command(BaseCommand):
    help = "Make (once) and show the demo CA and agency certificate the embedded mode signs with."

    def handle(self, *args, **options):
        credentials = demo_credentials()
        self.stdout.write(f"PKCS#12:   {credentials.pkcs12}")
        self.stdout.write(f"Password:  {credentials.pkcs12.with_name(PASSWORD_NAME)}")
        self.stdout.write(f"Root CA:   {credentials.root}")
        self.stdout.write("These are demo credentials (DEMO in the certificates' subjects): they prove nothing "
                          "about any agency.")
