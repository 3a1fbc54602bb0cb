"""Create the admin account once and print how to log in.

STUDIO_ADMIN_USERNAME / STUDIO_ADMIN_PASSWORD set the credentials; otherwise a password is
generated and printed once. Never a fixed password in the repository.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the admin user if none exists (or --reset its password) and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Set a new password for the admin user")

    def handle(self, *args, reset: bool = False, **options):
        User = get_user_model()
        username = os.environ.get("STUDIO_ADMIN_USERNAME", "admin")
        password = os.environ.get("STUDIO_ADMIN_PASSWORD", "")
        user = User.objects.filter(username=username).first()
        if user is not None and not reset:
            self.stdout.write(f"Log in at http://127.0.0.1:8000/ as '{username}' (password set earlier; "
                              f"`manage.py studio_admin --reset` makes a new one).")
            return
        if not password:
            password = secrets.token_urlsafe(12)
            shown = password
        else:
            shown = "(from STUDIO_ADMIN_PASSWORD)"
        if user is None:
            User.objects.create_superuser(username=username, email="", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        self.stdout.write(self.style.SUCCESS(
            f"Admin account ready. Log in at http://127.0.0.1:8000/ with\n"
            f"  username: {username}\n"
            f"  password: {shown}\n"
            f"(The password is shown only now.)"
        ))
