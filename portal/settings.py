"""All settings, read from the environment; the defaults give the embedded (SQLite) mode."""

import datetime as dt
import importlib.util
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("QINQING_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
PRODUCTION = env_bool("QINQING_PRODUCTION", False)
if PRODUCTION and DEBUG:
    # Debug pages show settings, SQL and source to anyone who triggers an error.
    raise ImproperlyConfigured("DJANGO_DEBUG must be false in production")
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
    # Embedded/demo mode only: a fixed key is fine because nothing here is secret.
    SECRET_KEY = "qinqing-embedded-insecure-key-change-me-in-production"


def _secret(name: str) -> str:
    """A secret from the variable `name`, or from the file that `name`_FILE names (a mounted
    secret); the file wins when both are set."""
    path = env_str(f"{name}_FILE", "")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE cannot be read: {error}") from None
    return env_str(name, "").strip()


# The timeline's keys live outside the database, so that someone who can write to it cannot
# forge a case history (README, "Tamper evidence"). TIMELINE_KEYS: "id:secret" pairs, comma or
# newline separated, the last one signs new events; old ids stay listed so their events verify.
# CHECKPOINT_SIGNING_KEY: the Ed25519 private key (PEM, or the base64 of its 32 bytes) that
# signs the daily checkpoints, which are written to CHECKPOINT_DIR.
TIMELINE_KEYS = _secret("QINQING_TIMELINE_KEY")
CHECKPOINT_SIGNING_KEY = _secret("QINQING_CHECKPOINT_KEY")
if PRODUCTION and not TIMELINE_KEYS:
    raise ImproperlyConfigured("QINQING_TIMELINE_KEY (or _FILE) must be set in production")
# The key of the confidential reports' receipt digests (compliance/receipts.py): the database
# keeps only an HMAC of each receipt, so a copy of it cannot open a report. Defaults to
# SECRET_KEY; set it of its own so that rotating SECRET_KEY does not lock every reporter out.
RECEIPT_KEY = _secret("QINQING_RECEIPT_KEY") or SECRET_KEY
# CRYPTO "guomi" (国密): events sealed with HMAC-SM3 (key ids "sm3.<name>"), checkpoints hashed
# with SM3 and signed with SM2 (CHECKPOINT_SM2_KEY: 64 hex digits; SM2 from the gmssl package).
# Keys of the other suite stay listed so that what they sealed or signed still verifies.
CRYPTO = env_choice("QINQING_CRYPTO", "standard", {"standard", "guomi"})
CHECKPOINT_SM2_KEY = _secret("QINQING_CHECKPOINT_SM2_KEY")
if PRODUCTION and CRYPTO == "standard" and not CHECKPOINT_SIGNING_KEY:
    raise ImproperlyConfigured("QINQING_CHECKPOINT_KEY (or _FILE) must be set in production")
if PRODUCTION and CRYPTO == "guomi":
    if importlib.util.find_spec("gmssl") is None:
        raise ImproperlyConfigured(
            "QINQING_CRYPTO=guomi needs the gmssl package for SM2: pip install 'qinqing[guomi]'"
        )
    if not CHECKPOINT_SM2_KEY:
        raise ImproperlyConfigured(
            "QINQING_CRYPTO=guomi needs QINQING_CHECKPOINT_SM2_KEY (or _FILE)"
        )
    if not re.search(r"(^|[,\n])\s*sm3\.", TIMELINE_KEYS):
        raise ImproperlyConfigured(
            "QINQING_CRYPTO=guomi needs an HMAC-SM3 key in QINQING_TIMELINE_KEY (id 'sm3.<name>')"
        )
CHECKPOINT_DIR = Path(env_str("QINQING_CHECKPOINT_DIR", str(VAR_DIR / "checkpoints")))
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])

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
    "axes",
    "csp",
    # Accounts: sign-in, sign-up, password reset and e-mail management, and TOTP two-factor.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    # The apps, floor by floor, lowest first (DESIGN.md "Layout"; tests/test_architecture.py).
    "officials",
    "notifications",
    "compliance",
    "requests_app",
    "inspection",
    "reports",
    "portal",
]

MIDDLEWARE = [
    # First: the client's address becomes a pseudonym of the day and the user agent is dropped,
    # so nothing after it can keep or log either (core/clients.py).
    "core.clients.ForgetClientMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Permissions-Policy everywhere; no-store on personal answers and downloads.
    "portal.headers.ResponseHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Refuses an oversized body by its declared length; nothing has read the body yet (the CSRF
    # check reads POST later, in process_view).
    "portal.security.RequestSizeLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A user whose role must use two-factor sets it up before any other page (MFA_REQUIRED_ROLES).
    "officials.accounts.MfaRequiredMiddleware",
    # With a replica only: a user who just acted reads from the primary (core/replica.py).
    "core.replica.PinToPrimaryMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.inbox",
                "portal.context_processors.calendar_warning",
            ],
            # `|minute`, the one format of a moment on the pages, with no {% load %}.
            "builtins": ["core.template_filters"],
        },
    },
]

# Database: SQLite in the embedded mode, anything dj-database-url understands otherwise.
# Production keeps each process's connection for a minute instead of opening one per request;
# Django checks a kept connection before reusing it (CONN_HEALTH_CHECKS), and Celery's Django
# fixup closes broken or expired ones around every task. gunicorn's sync workers hold one
# connection each (two with a replica). The demo and the tests open one per request.
DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0, minimum=0)


def _database(url: str) -> dict:
    return dj_database_url.parse(
        url, conn_max_age=DATABASE_CONN_MAX_AGE, conn_health_checks=DATABASE_CONN_MAX_AGE > 0
    )


DATABASES = {
    "default": _database(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'qinqing.sqlite3'}"))
}
# Some indexes carry columns for PostgreSQL's index-only scans (INCLUDE: the ledger's and the
# waiting extensions'). SQLite builds them without, as meant; it need not say so on every
# migrate of the embedded demo and the tests.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# Reports, dashboards, exports and the inspector's search may read from a PostgreSQL streaming
# replica (core/replica.py says when). Its test database is the primary's, streamed: the test
# run mirrors it rather than create a database on a read-only standby, and tests/test_replica.py
# points the alias at the real standby.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "").strip()
# A user who acted reads from the primary this long: a streaming replica is usually milliseconds
# behind, seconds under a big sweep; their next pages must show what they just did.
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 10, minimum=0)
# How long a task waits for the replica to catch up before it reads from the primary instead.
DATABASE_REPLICA_WAIT_SECONDS = env_int("DATABASE_REPLICA_WAIT_SECONDS", 5, minimum=0)
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = _database(DATABASE_REPLICA_URL)
    if {DATABASES["default"]["ENGINE"], DATABASES["replica"]["ENGINE"]} != {
        "django.db.backends.postgresql"
    }:
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs PostgreSQL for both DATABASE_URL and the replica"
        )
    # A replica that is down is noticed in seconds, and its reads go to the primary. It serves
    # report passes only, whose plans the JIT compiler slows down by seconds (reports.figures).
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    DATABASES["replica"]["OPTIONS"].setdefault("options", "-c jit=off")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["core.replica.ReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web and the embedded worker write to one file: take the write lock when a transaction
    # begins (IMMEDIATE) and wait for a competing writer rather than fail ("database is locked").
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis' own backend, but a read is a miss and a write is skipped when Redis is
            # down (core/cache.py): no 500 for a cache. The throttles degrade on their own.
            "BACKEND": "core.cache.DegradingRedisCache",
            "LOCATION": REDIS_URL,
            # Redis down must cost a request a second at most.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "officials.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked-out login goes no further
    # Django's ModelBackend, plus sign-in by e-mail address (django-allauth).
    "allauth.account.auth_backends.AuthenticationBackend",
    # The named permissions of officials/permissions.py (django-rules); it authenticates no one.
    "rules.permissions.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 10, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# --- accounts (django-allauth) ---------------------------------------------------------------
ACCOUNT_ADAPTER = "officials.accounts.AccountAdapter"
# allauth's forms as page forms (officials/accounts.py), each field through includes/field.html.
ACCOUNT_FORMS = {
    "login": "officials.accounts.LoginForm",
    "signup": "officials.accounts.SignupForm",
    "change_password": "officials.accounts.ChangePasswordForm",
    "reset_password": "officials.accounts.ResetPasswordForm",
    "reset_password_from_key": "officials.accounts.ResetPasswordKeyForm",
    "add_email": "officials.accounts.AddEmailForm",
}
MFA_FORMS = {
    "authenticate": "officials.accounts.AuthenticateForm",
    "activate_totp": "officials.accounts.ActivateTOTPForm",
}
# Officials sign in with the user name an administrator gave them, entrepreneurs with either.
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# "optional": a confirmation link is sent, and the account works before it is followed.
ACCOUNT_EMAIL_VERIFICATION = env_choice(
    "ACCOUNT_EMAIL_VERIFICATION", "optional", {"none", "optional", "mandatory"}
)
# A shared office computer: no "remember me", the session ends with the browser.
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
# A reset asked for an address nobody uses sends nothing: no mail to strangers on request.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Failed logins are counted by django-axes and the per-client login throttle (below), the same
# for the page and the API token; allauth's own counters would answer differently.
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": None}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Qinqing"
# Roles that must use TOTP two-factor: such a user without it sets it up before any other page
# (officials/accounts.py). Empty (MFA_REQUIRED_ROLES="") for a demo with shared passwords.
# A name that is not a role fails the system checks (officials/apps.py).
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", ["inspector", "admin"])
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
# A shared office computer: the session ends with the browser, and at the latest after the age.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- transport and browser security -----------------------------------------------------------
# Production sits behind a TLS-terminating proxy that sets X-Forwarded-Proto; only that proxy
# must be able to reach gunicorn, or a client could claim HTTPS itself.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# Container and load-balancer health checks speak plain HTTP to the process itself.
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
ONE_YEAR = 365 * 24 * 3600
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", ONE_YEAR if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
X_FRAME_OPTIONS = "DENY"
# Browser features no page of the portal uses (portal/headers.py): none may be asked for.
PERMISSIONS_POLICY = env_str(
    "PERMISSIONS_POLICY",
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), "
    "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=()",
)
# Content Security Policy (django-csp): no inline script or style anywhere, nothing from
# elsewhere; the Swagger UI loads its own start-up script from /api/docs/?script=.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        # Our own frames only: the PDF preview (requests_app.views.attachment_view).
        "frame-src": ["'self'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Seconds since the last deadline sweep after which /health/ calls the sweep stale (beat: 60 s).
HEALTH_SWEEP_MAX_AGE = env_int("HEALTH_SWEEP_MAX_AGE", 300, minimum=60)
# A streaming replica this many seconds behind is reported stale by /health/.
HEALTH_REPLICA_MAX_LAG = env_int("HEALTH_REPLICA_MAX_LAG", 30, minimum=1)
# How many Celery tasks share a sweep on PostgreSQL, each for its part of the requests (by id):
# one per worker process that should take part (requests_app/escalation.py, Partition).
SWEEP_WORKERS = env_int("SWEEP_WORKERS", 1, minimum=1)

# Login throttling (django-axes): the same lock-out for the page and the API token.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
# The (user name, client) pair is locked, never the account: a client cannot lock anyone else
# out. The "ip_address" is the client's pseudonym of the day (core/clients.py), taken from the
# trusted proxies only; the login throttle slows the client down across user names.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The user name typed on the page ("login": a user name or an e-mail address) or sent to the API.
AXES_USERNAME_CALLABLE = "officials.accounts.axes_username"
AXES_CLIENT_IP_CALLABLE = "core.clients.axes_client_ip"
AXES_IPWARE_PROXY_COUNT = 0  # REMOTE_ADDR is already resolved (ForgetClientMiddleware)
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_VERBOSE = False
# No record of successful logins (address, browser, time): one could be matched by time to an
# "anonymous" confidential report filed by a logged-in user. Failures are still counted.
AXES_DISABLE_ACCESS_LOG = True
# How many proxies in front of the portal append to X-Forwarded-For (0: clients connect
# directly, the embedded mode; the docker-compose stack sets 1). X-Forwarded-For from anyone
# else is ignored (core/clients.py).
TRUSTED_PROXIES = env_int("QINQING_TRUSTED_PROXIES", 0, minimum=0)
# API tokens expire this long after they are issued (core/tokens.py).
API_TOKEN_TTL = dt.timedelta(days=env_int("API_TOKEN_TTL_DAYS", 30, minimum=1))
# Proof of work asked of a confidential report (inspection/throttling.py): leading zero bits.
CONFIDENTIAL_REPORT_STAMP_BITS = env_int("CONFIDENTIAL_REPORT_STAMP_BITS", 20, minimum=0)

LANGUAGE_CODE = "zh-hans"  # used when the browser asks for nothing we speak
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"  # what pages show; the database stores UTC (USE_TZ)
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Outside production whitenoise serves straight from the app folders (no collectstatic needed),
# so the embedded demo has its styles without DEBUG.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS
if PRODUCTION:
    # Hashed, compressed names for far-future caching; needs `collectstatic` (done in the image).
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
# Uploaded files live outside the web root and are only served through an access-checked view.
MEDIA_ROOT = Path(env_str("QINQING_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = None

ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1)
# Let a request carrying one maximal attachment (plus form overhead) through to the view,
# which answers 413 itself for anything larger.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# The largest body any request may declare (a form with 10 maximal files and its fields): a
# bigger one is refused with 413 from its Content-Length, before a byte of it is read.
# Django reads no body without a Content-Length, so a chunked upload cannot get around this.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 10 * ATTACHMENT_MAX_BYTES + 1024 * 1024, minimum=1)

# The "133" deadline policy: working days (Chinese statutory calendar) or natural days.
DEADLINE_DAY_KIND = env_choice("DEADLINE_DAY_KIND", "working", {"working", "natural"})
DEADLINE_ASSIGN_DAYS = env_int("DEADLINE_ASSIGN_DAYS", 1, minimum=1)
DEADLINE_ANSWER_DAYS = env_int("DEADLINE_ANSWER_DAYS", 3, minimum=1)
# How far ahead an extension may reach, in the policy's days counted from the moment it is asked
# for: a plan, not an open-ended postponement.
DEADLINE_EXTENSION_MAX_DAYS = env_int("DEADLINE_EXTENSION_MAX_DAYS", 60, minimum=1)
# A clock this close to its due time shows an amber badge (fraction of the clock left).
DEADLINE_WARN_FRACTION = 0.25

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that an anonymous API call answers 401 with WWW-Authenticate; tokens
        # expire after API_TOKEN_TTL (core/tokens.py).
        "core.tokens.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "portal.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    # Logins (token endpoint and login page together), per client: django-axes locks one user
    # name per client after repeated failures; this stops one client trying many user names.
    # Confidential reports are throttled globally (inspection/throttling.py has the defaults).
    "DEFAULT_THROTTLE_RATES": {"login": env_str("API_LOGIN_RATE", "30/minute")},
    # The client's address is resolved once, by ForgetClientMiddleware from TRUSTED_PROXIES;
    # what DRF sees in REMOTE_ADDR is already the client (as a pseudonym), with no X-Forwarded-For.
    "NUM_PROXIES": 0,
    "PAGE_SIZE": 20,
}
# The API's schema and docs: public outside production (a developer's reference), behind a
# login in production (they map every endpoint and field for whoever asks).
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", not PRODUCTION)
SPECTACULAR_SETTINGS = {
    "SERVE_PERMISSIONS": ["portal.api_docs.DocsAccess"],
    "TITLE": "Qinqing API",
    "DESCRIPTION": "Service requests from enterprises to local government, and their closed loop.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The shared base serializers' docstrings describe the code, not an operation's body.
    "GET_LIB_DOC_EXCLUDES": "portal.schema.doc_excludes",
    # Choice sets that share a field name get names of their own instead of hashed ones.
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "requests_app.models.Status",
        "RequestSourceEnum": "requests_app.models.Source",
        "CaseStatusEnum": "compliance.models.CaseStatus",
        "CaseSourceEnum": "compliance.models.CaseSource",
        "ReportStatusEnum": "compliance.models.ReportStatus",
        "ReportKindEnum": "compliance.models.ReportKind",
        "InteractionKindEnum": "compliance.models.InteractionKind",
        "GiftKindEnum": "compliance.models.GiftKind",
        "NotificationKindEnum": "notifications.models.Kind",
        "ExportStatusEnum": "reports.models.ExportStatus",
    },
}

# Reports: how long a finished export file is kept, and the largest request list exported
# within the page's own request (longer lists go to a Celery worker with a progress bar).
REPORTS_EXPORT_KEEP_HOURS = env_int("REPORTS_EXPORT_KEEP_HOURS", 72, minimum=1)
REPORTS_EXPORT_SYNC_ROWS = env_int("REPORTS_EXPORT_SYNC_ROWS", 5000, minimum=0)
# A running export whose worker wrote no rows for this long is failed and its page says so
# (reports.stalled.fail_stalled, checked every minute by beat). A worker writes every 2000 rows.
REPORTS_EXPORT_STALL_MINUTES = env_int("REPORTS_EXPORT_STALL_MINUTES", 10, minimum=1)
# How long the dashboard keeps the current quarter's figures before a view computes them again
# (reports.snapshots); beat refreshes the whole portal's on the same interval.
REPORTS_FIGURES_SECONDS = env_int("REPORTS_FIGURES_SECONDS", 300, minimum=1)
# Beat keeps the current quarter of a department's or a jurisdiction's dashboard computed while
# someone read it within this many days (reports.snapshots.keep_read_scopes); 0: the portal's only.
REPORTS_KEEP_READ_DAYS = env_int("REPORTS_KEEP_READ_DAYS", 7, minimum=0)

# Celery: Redis when REDIS_URL is set; otherwise kombu's file-system transport, so the embedded
# demo runs a worker and beat with no services installed. Exactly one beat runs per deployment.
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost//")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Broadcast (pidbox) messages, which kombu would otherwise put in the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves it for another
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# Outside production, e-mails are written as files to var/mail/ so a demo can read them.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
# A worker's claim on an e-mail it is sending; an older claim is presumed lost with its worker
# (killed, out of memory) and another task sends the e-mail (notifications/outbox.py).
NOTIFICATIONS_EMAIL_CLAIM_SECONDS = env_int("NOTIFICATIONS_EMAIL_CLAIM_SECONDS", 600, minimum=30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "qinqing@localhost")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")  # links in e-mails

# Production logs one JSON object a line (portal/logging.py); the embedded mode plain text.
LOG_FORMAT = env_choice("LOG_FORMAT", "json" if PRODUCTION else "text", {"json", "text"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "portal.logging.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
