"""Settings read from the environment, in one place.

No environment: the embedded mode (SQLite, tasks run in process).
DATABASE_URL and REDIS_URL set: PostgreSQL, Redis as Celery broker, separate worker and beat.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
# The embedded default only; production refuses to start without DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "embedded-mode-insecure-key-do-not-use-in-production")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "simple_history",  # the agencies' and competences' change history, shown in the admin
    "worker",
    "agencies",
    "documents",  # PDF from the DOCX, signature, verification (licensing, inspections and reports use it)
    "cases",
    "licensing",
    "inspections",
    "applicants",  # applicants online: accounts, online dossiers, results received, ratings
    "reports",
    "demo",  # the demo department (`manage.py load_demo`, run by `make run`)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Requests that send files wait for one of the server's upload slots (cases/upload_gate.py) before anything
    # reads their body: a flood of uploads keeps to its share of the cores.
    "cases.upload_gate.UploadGateMiddleware",
    # Outside the session middleware, so that every response gets the headers, error pages (a 503 raised while
    # the session is read) included.
    "csp.middleware.CSPMiddleware",
    "cases.middleware.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",  # who changed an agency in the admin
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A path or query string holding NUL or another control character is a 400 before any view (problem JSON for
    # the API, a short page in the user's language otherwise).
    "cases.middleware.ControlCharactersMiddleware",
    # Innermost, so that it sees a view's exception first: an unreachable database is a 503, not a 500.
    "cases.middleware.DatabaseUnavailableMiddleware",
]

# The cases' list index carries the case type as a non-key column (INCLUDE, PostgreSQL); the embedded SQLite ignores
# it, as it may: an optimisation, not a rule.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.i18n",
                "cases.context.agency",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The model backend, refusing sign-ins for a while after repeated failures (cases/security.py).
AUTHENTICATION_BACKENDS = ["cases.security.ThrottledModelBackend"]
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", str(15 * 60)))
LOGIN_FAILURES_PER_USER_AND_IP = int(os.environ.get("LOGIN_FAILURES_PER_USER_AND_IP", "5"))
LOGIN_FAILURES_PER_USER = int(os.environ.get("LOGIN_FAILURES_PER_USER", "20"))
LOGIN_FAILURES_PER_IP = int(os.environ.get("LOGIN_FAILURES_PER_IP", "30"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

# --- Browser hardening: what a page may load and use (README, "Production"). ---
# Everything comes from this site: no CDN, no inline script or style (templates load static files; a test
# scans them), no plugin, no framing. Camera photos are shown from blob: URLs before they are sent; data: is for
# the icons inlined in the admin's and Swagger UI's style sheets.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "worker-src": [SELF],
        "manifest-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
# Powerful browser features: the tablet pages use the camera and the location, for this site only; the
# clipboard serves Swagger UI's copy buttons; the rest is off (cases.middleware.PermissionsPolicyMiddleware).
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "geolocation": ["self"],
    "clipboard-write": ["self"],
    "accelerometer": [],
    "autoplay": [],
    "browsing-topics": [],
    "display-capture": [],
    "encrypted-media": [],
    "fullscreen": [],
    "gyroscope": [],
    "hid": [],
    "idle-detection": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "picture-in-picture": [],
    "publickey-credentials-get": [],
    "screen-wake-lock": [],
    "serial": [],
    "usb": [],
    "xr-spatial-tracking": [],
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The agencies (names, symbols, places, signers, which procedures each handles and when) are data: the admin's
# Agencies section, loaded with `manage.py agencies_load FILE` (agencies/data/ holds Thái Bình's 2008–2025 history).
# The quarterly report's "Nơi nhận:" before "- Lưu: VT.", separated by ";" (reports/exports.py).
REPORT_RECIPIENTS = [name.strip() for name in os.environ.get(
    "REPORT_RECIPIENTS", "Lãnh đạo Sở;Trưởng các đơn vị thuộc Sở").split(";") if name.strip()]

# --- Case engine ---
# A day-based limit ends at the close of office on its last day.
OFFICE_CLOSE_HOUR = int(os.environ.get("OFFICE_CLOSE_HOUR", "17"))
DUE_SOON_HOURS = int(os.environ.get("DUE_SOON_HOURS", "48"))
# The time the department answers a dossier submitted online (receive it, ask to complete it, or refuse to receive
# it), in working days on Vietnam's calendar from its submission: the officers' online queue shows each dossier's
# "answer by" and marks the late ones. Set it to the one-stop-shop rule the department applies.
ONLINE_ANSWER_WORKING_DAYS = int(os.environ.get("ONLINE_ANSWER_WORKING_DAYS", "1"))
# API lists count matching rows exactly up to this many, then answer "more than" (count_exact: false).
API_LIST_COUNT_CAP = int(os.environ.get("API_LIST_COUNT_CAP", "10000"))
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The upload bulkhead (cases/upload_gate.py): uploads worked on at once by the whole server (default: half the
# cores, at least 1), how long one waits for a slot before a 503, where the slots' lock files live (default: one
# directory per database under the temporary directory), and the size from which any body counts as an upload.
UPLOAD_SLOTS = int(os.environ.get("UPLOAD_SLOTS", "0")) or None
UPLOAD_SLOT_WAIT_SECONDS = float(os.environ.get("UPLOAD_SLOT_WAIT_SECONDS", "20"))
UPLOAD_SLOTS_DIR = os.environ.get("UPLOAD_SLOTS_DIR", "")
UPLOAD_GATE_MIN_BYTES = int(os.environ.get("UPLOAD_GATE_MIN_BYTES", str(256 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Documents: PDF ---
# DOCX → PDF/A-2b (documents/pdf.py): LibreOffice's soffice, the python that has python3-uno (Debian's), where each
# process's converter keeps its LibreOffice profile, pipe name and log (a fresh temporary directory under it; default
# the system's temporary directory), and after how many documents a converter starts LibreOffice afresh (0: never).
DOCUMENTS_SOFFICE = os.environ.get("DOCUMENTS_SOFFICE", "soffice")
DOCUMENTS_UNO_PYTHON = os.environ.get("DOCUMENTS_UNO_PYTHON", "/usr/bin/python3")
DOCUMENTS_PDF_WORK_DIR = os.environ.get("DOCUMENTS_PDF_WORK_DIR", "")
DOCUMENTS_PDF_RESTART_AFTER = int(os.environ.get("DOCUMENTS_PDF_RESTART_AFTER", "200"))

# --- Documents: signing ---
# The agency's key (documents/signing.py), first match wins: a PKCS#11 token (module path, token label, key label,
# optional certificate label, PIN), else a PKCS#12 file and its password, else (DOCUMENTS_SIGNING_DEMO, on when
# DEBUG) the demo CA made on first use in DOCUMENTS_DEMO_CA_DIR (default ~/.local/share/sttt-cases/demo-ca).
DOCUMENTS_SIGNING_PKCS11_MODULE = os.environ.get("DOCUMENTS_SIGNING_PKCS11_MODULE", "")
DOCUMENTS_SIGNING_PKCS11_TOKEN_LABEL = os.environ.get("DOCUMENTS_SIGNING_PKCS11_TOKEN_LABEL", "")
DOCUMENTS_SIGNING_PKCS11_KEY_LABEL = os.environ.get("DOCUMENTS_SIGNING_PKCS11_KEY_LABEL", "")
DOCUMENTS_SIGNING_PKCS11_CERT_LABEL = os.environ.get("DOCUMENTS_SIGNING_PKCS11_CERT_LABEL", "")
DOCUMENTS_SIGNING_PKCS11_PIN = os.environ.get("DOCUMENTS_SIGNING_PKCS11_PIN", "")
DOCUMENTS_SIGNING_PKCS12 = os.environ.get("DOCUMENTS_SIGNING_PKCS12", "")
DOCUMENTS_SIGNING_PKCS12_PASSWORD = os.environ.get("DOCUMENTS_SIGNING_PKCS12_PASSWORD", "")
# Intermediate CA certificates (PEM paths, comma-separated) a token or PKCS#12 file does not hold.
DOCUMENTS_SIGNING_CHAIN = env_list("DOCUMENTS_SIGNING_CHAIN")
DOCUMENTS_SIGNING_DEMO = env_bool("DOCUMENTS_SIGNING_DEMO", DEBUG)
DOCUMENTS_DEMO_CA_DIR = os.environ.get("DOCUMENTS_DEMO_CA_DIR", "")
# RFC 3161 timestamps on each signature when set (its root belongs in DOCUMENTS_TRUST_ROOTS).
DOCUMENTS_TSA_URL = os.environ.get("DOCUMENTS_TSA_URL", "")
DOCUMENTS_TSA_TIMEOUT = float(os.environ.get("DOCUMENTS_TSA_TIMEOUT_SECONDS", "10"))
# Trust roots (PEM paths, comma-separated) signatures are validated against; the demo root is added in demo mode.
# A signing certificate that chains to one of them gets its validation data embedded (PAdES B-LT); fetching
# CRLs/OCSP at signing time is off unless asked for.
DOCUMENTS_TRUST_ROOTS = env_list("DOCUMENTS_TRUST_ROOTS")
DOCUMENTS_SIGNING_FETCH_REVOCATION = env_bool("DOCUMENTS_SIGNING_FETCH_REVOCATION", False)

# --- Documents: verification ---
# The public verification pages (documents/views.py): the address printed in each document's QR code, and the limits
# per client address (lookups and PDF uploads per window) and on an uploaded PDF's size.
DOCUMENTS_PUBLIC_BASE_URL = os.environ.get("DOCUMENTS_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
DOCUMENTS_VERIFY_LOOKUPS_PER_WINDOW = int(os.environ.get("DOCUMENTS_VERIFY_LOOKUPS_PER_WINDOW", "30"))
DOCUMENTS_VERIFY_UPLOADS_PER_WINDOW = int(os.environ.get("DOCUMENTS_VERIFY_UPLOADS_PER_WINDOW", "10"))
DOCUMENTS_VERIFY_WINDOW_SECONDS = int(os.environ.get("DOCUMENTS_VERIFY_WINDOW_SECONDS", "60"))
DOCUMENTS_VERIFY_UPLOAD_MAX_BYTES = int(os.environ.get("DOCUMENTS_VERIFY_UPLOAD_MAX_BYTES", str(10 * 1024 * 1024)))

# --- API ---
REST_FRAMEWORK = {
    # Token first, so an anonymous request gets 401 with WWW-Authenticate, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's parsers, with every string of a body cleaned of control characters and put in NFC (cases/text.py).
    "DEFAULT_PARSER_CLASSES": [
        "cases.api.parsers.CleanJSONParser",
        "cases.api.parsers.CleanFormParser",
        "cases.api.parsers.CleanMultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "cases.api.filter_backend.CheckedFilterBackend",  # django-filter, with dates checked (400, not 500)
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "cases.api.pagination.CasePagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "cases.api.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token_login": os.environ.get("TOKEN_LOGIN_RATE", "20/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "STTTT case management API",
    "DESCRIPTION": "Licensing and inspection cases of the Department of Information and Communications.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and docs describe the API and hold no data: readable without signing in.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Every operation declares the RFC 7807 problems it can answer with (cases/api/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "cases.api.schema.problem_responses"],
    # Fields named "state" with different choices: each set gets its own name.
    "ENUM_NAME_OVERRIDES": {
        "CaseStateEnum": "cases.workflow.State",
        "ReviewDecisionEnum": "inspections.services.review.REVIEW_DECISION_CHOICES",
        "SubmissionStateEnum": "applicants.models.Submission.State",
        "ApplicantStateEnum": "applicants.dossiers.APPLICANT_STATES",
        "IssuedDocumentKindEnum": "licensing.models.IssuedDocument.Kind",
    },
}

# --- Celery ---
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL  # embedded mode: tasks run in process
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "celery")


def celery_queues(default_queue: str) -> tuple[str, dict, list]:
    """Rendering and signing a document (LibreOffice, pyHanko) takes seconds; those tasks have a queue of their own
    so that a burst of them (a head approving thirty results) never holds back an intake, an e-mail or a sweep. A
    worker started without -Q takes both queues (kombu's Redis transport takes them in turn); one started with -Q
    names both. Returns the documents queue's name, the task routes and the queues."""
    documents_queue = os.environ.get("CELERY_DOCUMENTS_QUEUE", f"{default_queue}-documents")
    routes = {name: {"queue": documents_queue}
              for name in ("licensing.document_sign", "inspections.document_sign", "reports.report_sign",
                           "applicants.refusal_slip_issue")}
    queues = [Queue(name, Exchange(name), routing_key=name) for name in (default_queue, documents_queue)]
    return documents_queue, routes, queues


CELERY_DOCUMENTS_QUEUE, CELERY_TASK_ROUTES, CELERY_TASK_QUEUES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)
# Batched outbox names whose runs render documents: their wake-ups go to the documents queue too (worker/outbox.py),
# so that the receipts of a burst of applications (a DOCX each, 250 to a run) never hold back the intakes.
OUTBOX_DOCUMENTS_BATCHED = ("licensing.receipt_issue",)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request must not hang when Redis is down: fail fast, the outbox sweep resends.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 2}
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
OUTBOX_RESEND_AFTER = timedelta(seconds=int(os.environ.get("OUTBOX_RESEND_AFTER_SECONDS", "600")))
# A message not yet sent is left alone this long: its on_commit send may still be running.
OUTBOX_SEND_GRACE = timedelta(seconds=int(os.environ.get("OUTBOX_SEND_GRACE_SECONDS", "30")))
# Batched task names (intake, the figures' refresh, emails): rows per transaction, and how long one queued
# wake-up stands for all rows committed after it (worker/outbox.py).
OUTBOX_BATCH_SIZE = int(os.environ.get("OUTBOX_BATCH_SIZE", "250"))
OUTBOX_WAKE_TTL = timedelta(seconds=int(os.environ.get("OUTBOX_WAKE_TTL_SECONDS", "30")))
CELERY_BEAT_SCHEDULE = {
    "outbox-recovery-sweep": {"task": "worker.outbox_recovery_sweep", "schedule": 60.0},
    "overdue-sweep": {"task": "cases.overdue_sweep", "schedule": crontab(minute="*/15")},
    # Open cases run on into each new quarter; then the kept figures are checked against a rebuild.
    "report-quarter-rollover": {"task": "reports.quarter_rollover", "schedule": crontab(minute=5, hour=0, day_of_month=1,
                                                                                        month_of_year="1,4,7,10")},
    "report-check": {"task": "reports.check", "schedule": crontab(minute=30, hour=1)},
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "sotttt@localhost")
# The mail server, for EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend (a hung server fails a send after
# EMAIL_TIMEOUT_SECONDS instead of holding a worker).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT_SECONDS", "30"))

# --- Applicants' portal: accounts ---
# Registration, password reset and the resending of verification links, counted per client address and per
# e-mail address over PORTAL_ACCOUNT_WINDOW_SECONDS (applicants/accounts.py); sign-in failures are counted as the
# officers' are (cases/security.py). A verification link (and a reset link) lasts PASSWORD_RESET_TIMEOUT.
PORTAL_ACCOUNT_WINDOW_SECONDS = int(os.environ.get("PORTAL_ACCOUNT_WINDOW_SECONDS", str(60 * 60)))
PORTAL_ACCOUNT_ACTIONS_PER_IP = int(os.environ.get("PORTAL_ACCOUNT_ACTIONS_PER_IP", "20"))
PORTAL_ACCOUNT_ACTIONS_PER_ADDRESS = int(os.environ.get("PORTAL_ACCOUNT_ACTIONS_PER_ADDRESS", "5"))
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT_SECONDS", str(3 * 24 * 3600)))

# Sign-in through a national identity provider (OpenID Connect, mozilla-django-oidc), on only when
# OIDC_RP_CLIENT_ID is set. The endpoints are given one by one; OIDC_OP_ISSUER, when set, must be the id_token's
# "iss" (the library does not check it nor the audience: applicants/oidc.py does).
OIDC_RP_CLIENT_ID = os.environ.get("OIDC_RP_CLIENT_ID", "")
PORTAL_OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
OIDC_OP_ISSUER = os.environ.get("OIDC_OP_ISSUER", "")
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ.get("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = os.environ.get("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = os.environ.get("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email profile")
OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "VNeID")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = int(os.environ.get("OIDC_TIMEOUT_SECONDS", "10"))
OIDC_CREATE_USER = False  # a new person completes the organisation's registration first (applicants/oidc.py)
OIDC_AUTHENTICATION_CALLBACK_URL = "portal:oidc-callback"
OIDC_CALLBACK_CLASS = "applicants.oidc.PortalOIDCCallbackView"
LOGIN_REDIRECT_URL_FAILURE = "/portal/accounts/oidc/complete/"
if PORTAL_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS = [*AUTHENTICATION_BACKENDS, "applicants.oidc.PortalOIDCBackend"]

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Failed and throttled sign-ins reach stderr whatever LOG_LEVEL says (they propagate to the root's handler).
    "loggers": {
        "sttt.security": {"level": "INFO"},
        # pyHanko logs a traceback at WARNING for every certificate it does not trust: anyone may upload a PDF to
        # /verify/, so that would be the public's to fill the logs with. The check's result says it already.
        "pyhanko": {"level": "ERROR"},
        "pyhanko_certvalidator": {"level": "ERROR"},
    },
}
