"""Create the admin account once and print how to log in.

STUDIO_ADMIN_USERNAME / STUDIO_ADMIN_PASSWORD set the credentials; otherwise a password is
generated and printed once. Never a fixed password in the repository.
"""

import os

from django.core.management.base import BaseCommand

from studio.services import admin_ensure


class Command(BaseCommand):
    help = "Create the admin user if none exists (or --reset its password) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Set a new password for the admin user")

    def handle(self, *args, reset: bool = False, **options):
        username = os.environ.get("STUDIO_ADMIN_USERNAME", "admin")
        changed, generated = admin_ensure(username=username, password=os.environ.get("STUDIO_ADMIN_PASSWORD", ""),
                                          reset=reset)
        if not changed:
            self.stdout.write(f"Log in at http://127.0.0.1:8000/ as '{username}' (password set earlier; "
                              f"`manage.py studio_admin --reset` makes a new one).")
            return
        self.stdout.write(self.style.SUCCESS(
            f"Admin account ready. Log in at http://127.0.0.1:8000/ with\n"
            f"  username: {username}\n"
            f"  password: {generated or '(from STUDIO_ADMIN_PASSWORD)'}\n"
            f"(The password is shown only now.)"
        ))
