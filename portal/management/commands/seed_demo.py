"""`manage.py seed_demo`: fill an empty database with a demo city and print the demo logins.

The demo sits above every app (DESIGN.md "Layout"): it drives each app's real services.
"""

import random

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from officials.models import User
from portal.demo.city import DEMO_PASSWORD, Demo
from portal.demo.compliance import seed_compliance_demo
from portal.demo.inspection import seed_inspection_demo
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
        rows = [
            ("admin", "admin (portal administrator, Django admin at /admin/)"),
            ("liaison1", "liaison (服务企业专员), linked to enterprises 1–20"),
            ("liaison2", "liaison (服务企业专员), linked to enterprises 21–40"),
            ("leader1", "leader (挂包领导), linked to enterprises 1–20"),
            ("handler_labor", "handler (承办单位), 市人力资源和社会保障局"),
            ("handler_approval", "handler (承办单位), 市行政审批局"),
            ("handler_policy", "handler (承办单位), 市发展和改革委员会"),
            ("inspector1", "inspector (纪检监察), the whole city"),
            ("ent01", "entrepreneur of enterprise 1"),
            ("ent02", "entrepreneur of enterprise 2"),
        ]
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, what in rows:
            self.stdout.write(f"  {username:<18} {what}")
