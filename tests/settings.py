"""Test settings: the studio's own, plus a private data dir and container label instance per
pytest process (so one run's sweeper never removes another run's containers) and fast hashing."""

import os
import tempfile

os.environ.setdefault("STUDIO_INSTANCE", f"pytest-{os.getpid()}")
os.environ.setdefault("STUDIO_DATA_DIR", tempfile.mkdtemp(prefix="studio-test-data-"))

from studio.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

