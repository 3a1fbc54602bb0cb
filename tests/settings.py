"""Test settings: the studio's own, plus a private data dir and container label instance per
pytest process (so one run's sweeper never removes another run's containers) and fast hashing."""

import os
import tempfile

os.environ.setdefault("STUDIO_INSTANCE", f"pytest-{os.getpid()}")
os.environ.setdefault("STUDIO_DATA_DIR", tempfile.mkdtemp(prefix="studio-test-data-"))

from studio.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# A file, not memory, for the SQLite test database: tests that kill real worker processes run
# episodes in a child process, which must see the same database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["STUDIO_DATA_DIR"], "test-db.sqlite3")}  # noqa: F405
