"""`manage.py seed_demo`: fill an empty database with a demo city and print the demo logins.

The demo sits above every app (DESIGN.md "Layout"): it drives each app's real services.
"""

import random

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from officials.models import User
from portal.demo.city import Demo
from portal.demo.compliance import seed_compliance_demo
from portal.demo.inspection import seed_inspection_demo
from portal.demo.logins import login_lines
from portal.demo.reports import seed_reports_demo
from requests_app.models import ServiceRequest


class Command(BaseCommand):
    help = "Fill an empty database with a demo city and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=300)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, requests: int, seed: int, **options):
        if ServiceRequest.objects.exists() or User.objects.filter(username="admin").exists():
            self.stdout.write("The database already has data; seed_demo leaves it as it is.")
            self._print_logins()
            return
        rng = random.Random(seed)
        with transaction.atomic():
            city = Demo(rng, self.stdout)
            city.build_places()
            city.build_people()
        # One transaction per request, as in real use: a failure would keep what was made.
        made = city.build_requests(requests)
        # The other apps' demo data needs the city's people and requests: four past quarters of
        # figures, then officials' records and visits (a declared tie makes a liaison recuse from
        # later requests, so it comes after the quarters), then a sweep's breach cases taken up by
        # the inspectors.
        seed_reports_demo(self.stdout)
        seed_compliance_demo(self.stdout)
        call_command("escalate", stdout=self.stdout)
        seed_inspection_demo(self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo city ready: {made} requests."))
        self._print_logins()

    def _print_logins(self):
        self.stdout.write("")
        for line in login_lines():
            self.stdout.write(line)
