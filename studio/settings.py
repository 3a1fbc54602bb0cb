"""Settings read from the environment; the defaults give the embedded mode.

Embedded (no REDIS_URL): SQLite, in-memory channel layer, Celery over kombu's memory://
transport with an in-process worker thread. Scale (REDIS_URL set): channels-redis, Celery
on Redis with separate worker processes, PostgreSQL through DATABASE_URL.
See README.md ("Settings") for the documented set.
"""

from __future__ import annotations

import os
import secrets
import warnings
from pathlib import Path

import dj_database_url

from studio.lib.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("STUDIO_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data dir."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "studio",
    "inversion",
    "tasks",
    "campaigns",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "studio.context_processors.health",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded worker thread writes while the server reads: WAL + immediate transactions
    # + a generous busy timeout keep SQLite from answering "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

# --- Redis, channels, Celery ----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
EMBEDDED = not REDIS_URL
if EMBEDDED:
    CHANNEL_LAYERS = {"default": {"BACKEND": "studio.lib.channel_layer.ThreadSafeInMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://localhost/"  # a host, or kombu warns on every connection
    CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.05}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "build"
CELERY_TASK_ROUTES = {
    "inversion.jobs.repository_fetch_job": {"queue": "build"},
    "inversion.jobs.gold_build_job": {"queue": "build"},
    "inversion.jobs.episode_run_job": {"queue": "episode"},
    "inversion.jobs.episode_materialize_job": {"queue": "validate"},
    "tasks.jobs.solver_run_job": {"queue": "solve"},
    "tasks.jobs.*": {"queue": "validate"},
    "campaigns.jobs.*": {"queue": "build"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("STUDIO_JOBS_EAGER", False)
STUDIO_EMBEDDED_WORKER = env_bool("STUDIO_EMBEDDED_WORKER", EMBEDDED)
STUDIO_WORKER_CONCURRENCY = env_int("STUDIO_WORKER_CONCURRENCY", 2)

# --- Docker, images, LLM ----------------------------------------------------------------------
DOCKER_HOST = env_str("DOCKER_HOST")  # empty: the SDK's default (unix:///var/run/docker.sock)
# The engine's name in queue names (`episode@<engine>`) and on gold rows; default: derived from DOCKER_HOST.
STUDIO_ENGINE = env_str("STUDIO_ENGINE")
STUDIO_CAMPAIGN_TICK = env_int("STUDIO_CAMPAIGN_TICK", 3)  # seconds between campaign driver steps per worker
STUDIO_CAMPAIGN_REDISPATCH = env_int("STUDIO_CAMPAIGN_REDISPATCH", 120)  # seconds before queued work is sent again
STUDIO_BASE_IMAGE = env_str("STUDIO_BASE_IMAGE", "local/bookworm-py:base3")
STUDIO_EXTRA_CA_BUNDLE = env_str("STUDIO_EXTRA_CA_BUNDLE")
STUDIO_INSTANCE = env_str("STUDIO_INSTANCE", "default")
STUDIO_SOURCES_DIR = DATA_DIR / "sources"
STUDIO_PYPI_INDEX = env_str("STUDIO_PYPI_INDEX", "https://pypi.org/simple")  # a PEP 691 JSON Simple API
STUDIO_SOURCE_MAX_BYTES = env_int("STUDIO_SOURCE_MAX_BYTES", 1024**3)  # local path sources: size cap
STUDIO_SOURCE_MAX_FILES = env_int("STUDIO_SOURCE_MAX_FILES", 100_000)  # ... and file count cap
STUDIO_EXPORTS_DIR = DATA_DIR / "exports"
STUDIO_MIN_PASSING_TESTS = env_int("STUDIO_MIN_PASSING_TESTS", 1)
STUDIO_BASELINE_RUNS = env_int("STUDIO_BASELINE_RUNS", 2)
STUDIO_SETUP_ATTEMPTS = env_int("STUDIO_SETUP_ATTEMPTS", 5)  # gold set-up loop: builds tried before giving up
STUDIO_BUILD_TIMEOUT = env_int("STUDIO_BUILD_TIMEOUT", 1800)  # seconds one gold image build may take
STUDIO_WORKER_LEASE = env_int("STUDIO_WORKER_LEASE", 60)  # seconds without a heartbeat before a worker is dead
STUDIO_VALIDATION_STEP_TIMEOUT = env_int("STUDIO_VALIDATION_STEP_TIMEOUT", 120)  # seconds a replayed step may take
STUDIO_HACKS_DIR = env_str("STUDIO_HACKS_DIR")  # a site's own reward hacks (*.sh), tried on every task too
STUDIO_EPISODE_CONCURRENCY = env_int("STUDIO_EPISODE_CONCURRENCY", 2)
STUDIO_ALLOW_SELF_APPROVE_ADMIN = env_bool("STUDIO_ALLOW_SELF_APPROVE_ADMIN", True)
# Solver runs: the Harbor harness (scripts/setup-harnesses installs it here) and its working files.
STUDIO_HARBOR_BIN = env_str("STUDIO_HARBOR_BIN", str(Path(env_str("STUDIO_HARNESS_DIR", str(
    Path.home() / ".cache" / "studio-harness"))) / "harbor" / "bin" / "harbor"))
STUDIO_SOLVE_DIR = Path(env_str("STUDIO_SOLVE_DIR", str(DATA_DIR / "solve")))
STUDIO_SOLVE_MAX_ATTEMPTS = env_int("STUDIO_SOLVE_MAX_ATTEMPTS", 10)
STUDIO_SOLVE_MAX_TURNS = env_int("STUDIO_SOLVE_MAX_TURNS", 0)  # terminus agents' turn cap (0: Harbor's default)

# The managed local model (`studio llm serve`): when STUDIO_LOCAL_LLM names one, it is the default
# endpoint. Model files (0.5-1.1 GB) live in a home cache because data dirs come and go (tests).
STUDIO_LOCAL_LLM = env_str("STUDIO_LOCAL_LLM")  # qwen2.5-coder-0.5b | qwen2.5-coder-1.5b
STUDIO_LOCAL_LLM_PORT = env_int("STUDIO_LOCAL_LLM_PORT", 8181)
# llama.cpp syncs its threads at every layer: with every core in use and anything else runnable, one
# descheduled thread stalls the rest. Measured with the 1.5B on 2 busy cores: generating, 2 threads
# 0.8-1.2 token/s vs 1 thread 4-5.6; reading a prompt, 2 threads 7-21 token/s vs 1 thread 38. So
# both leave a core free by default.
STUDIO_LLM_THREADS = env_int("STUDIO_LLM_THREADS", max(1, (os.cpu_count() or 2) - 1))
STUDIO_LLM_BATCH_THREADS = env_int("STUDIO_LLM_BATCH_THREADS", STUDIO_LLM_THREADS)
STUDIO_MODEL_CACHE = Path(env_str("STUDIO_MODEL_CACHE", str(Path.home() / ".cache" / "studio-models")))
_local_llm_url = f"http://127.0.0.1:{STUDIO_LOCAL_LLM_PORT}/v1" if STUDIO_LOCAL_LLM else ""
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", _local_llm_url)
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
STUDIO_LLM_MODEL = env_str("STUDIO_LLM_MODEL", STUDIO_LOCAL_LLM)
# "auto" for hosted models; "named" (one named tool per turn) for llama.cpp, which ignores "auto".
STUDIO_LLM_TOOL_CHOICE = env_str("STUDIO_LLM_TOOL_CHOICE", "named" if STUDIO_LOCAL_LLM else "auto")
STUDIO_LLM_TIMEOUT = env_int("STUDIO_LLM_TIMEOUT", 180)
STUDIO_LLM_MAX_TOKENS = env_int("STUDIO_LLM_MAX_TOKENS", 1024)
STUDIO_LLM_OUTAGE_WAIT = env_int("STUDIO_LLM_OUTAGE_WAIT", 60)  # seconds an unreachable endpoint is retried

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "INFO")},
    "loggers": {"celery": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}

# whitenoise serves files through a sync iterator under ASGI; harmless, and noisy.
warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")
