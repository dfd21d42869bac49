import ipaddress
import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

WEAK_SECRETS = {"", "changeme", "secret", "dev", "development", "insecure"}
MIN_SECRET_LENGTH = 32
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Allowed besides the host of BASE_URL outside production, so a developer's browser gets in.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class Environment(StrEnum):
    dev = "dev"
    test = "test"
    prod = "prod"


class Settings(BaseSettings):
    """Every setting comes from the environment (or `.env`); README.md lists them."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Path("./var")
    secret_key: str | None = None
    # The Ed25519 key that signs the audit chain's checkpoints (PEM, or the raw 32 bytes in
    # base64); unset: one generated once into DATA_DIR (app/services/audit_chain.py).
    checkpoint_signing_key: str | None = None
    environment: Environment = Environment.dev
    base_url: str = DEFAULT_BASE_URL
    # The names this portal answers to in the Host header (comma-separated); unset: the host of
    # BASE_URL, plus loopback names outside production. Any other Host gets 400.
    allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    # Addresses or networks (CIDR) of the proxies whose X-Forwarded-For, Forwarded and
    # X-Forwarded-Proto headers are believed (comma-separated); unset: nobody's.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    smtp_url: str | None = None
    mail_from: str = "Integrity Icon <no-reply@integrity-icon.invalid>"
    # How often the server looks at the outbox besides when it queues mail itself; 0: never
    # (`send-mail` from cron delivers instead). Used only when SMTP_URL is set.
    mail_interval_seconds: float = 30.0
    # How often the server looks for meetings whose automatic reminder to judges is due
    # (app/services/judging/progress.py); 0: never.
    reminder_interval_seconds: float = 60.0
    default_locale: str = "es"
    # Nominations per client address per hour. Generous: a mobile carrier puts many phones
    # behind one address (README.md); one browser is held tighter by the next one.
    nomination_rate_limit: int = 100
    # Nominations per browser (its form-token cookie) per hour.
    nomination_browser_limit: int = 5
    form_min_seconds: int = 5
    form_max_age_hours: int = 24
    # The public vote (issue 18): votes per client and per network (/24, /48) per hour,
    # confirmation e-mails per address per hour (0: no limit, for load tests), and how many days
    # after a vote closes its voters' addresses are deleted.
    vote_rate_limit: int = 20
    vote_network_rate_limit: int = 200
    vote_address_rate_limit: int = 5
    vote_retention_days: int = 90
    # How long a saved draft of a nomination and its link last (issue 21), in days.
    draft_days: int = 30
    max_files: int = 5
    max_file_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = 25 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    # FULL: a receipt survives a power loss too, not only a crash of the process (README.md).
    sqlite_synchronous: str = "FULL"
    sqlite_busy_timeout_ms: int = 10_000
    # The organisation responsible for personal data, named in the privacy notice.
    org_name: str = "Integrity Icon México (organización de demostración)"
    org_address: str = "Domicilio por definir, Ciudad de México, México"
    org_email: str = "privacidad@integrity-icon.invalid"
    org_phone: str = ""
    privacy_updated_on: str = "2026-12-04"
    # Days after an edition's results day when its nominations that never became candidates are
    # deleted by the server (app/services/privacy/retention.py); 0: kept. The privacy notice
    # promises "up to two years after it closes".
    nomination_retention_days: int = Field(730, ge=0)
    log_level: str = "INFO"
    # How long a worker serves a rendered public page from memory (app/web/pagecache.py); 0: never.
    page_cache_seconds: float = 10.0
    # Requests of a worker that run in threads at once (app/process.py).
    worker_threads: int = 3
    # Sanction registries (docs/matching.md gives the reasons for both defaults): a nominee and
    # an entry scoring at least this are raised for review; two spellings of a word at least
    # this similar (in %) count as the same word.
    sanctions_match_threshold: int = 75
    sanctions_word_similarity: int = 85
    # The largest list file staff may upload at /staff/sanctions (the command line has no limit).
    sanctions_max_upload_bytes: int = 256 * 1024 * 1024
    # Open data (docs/open-data.md): a count below this (and above 0) is never published; the
    # participation snapshot of an open call is renewed at most this often (0: only by hand).
    open_data_min_count: int = 5
    open_data_refresh_seconds: float = 3600.0

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("es", "en"):
            raise ValueError("DEFAULT_LOCALE must be 'es' or 'en'")
        return value

    @field_validator("sanctions_match_threshold")
    @classmethod
    def _sane_threshold(cls, value: int) -> int:
        # Below 50 a single shared surname would be raised for every nominee.
        if not 50 <= value <= 100:
            raise ValueError("SANCTIONS_MATCH_THRESHOLD must be between 50 and 100")
        return value

    @field_validator("sanctions_word_similarity")
    @classmethod
    def _sane_similarity(cls, value: int) -> int:
        if not 70 <= value <= 100:
            raise ValueError("SANCTIONS_WORD_SIMILARITY must be between 70 and 100")
        return value

    @field_validator("open_data_min_count")
    @classmethod
    def _sane_min_count(cls, value: int) -> int:
        # 1 would publish every count, a single person's nomination included.
        if not 2 <= value <= 1000:
            raise ValueError("OPEN_DATA_MIN_COUNT must be between 2 and 1000")
        return value

    @field_validator("vote_retention_days")
    @classmethod
    def _some_retention(cls, value: int) -> int:
        # 0 would delete the addresses at the close, before staff can review the vote.
        if value < 1:
            raise ValueError("VOTE_RETENTION_DAYS must be at least 1")
        return value

    @field_validator("sqlite_synchronous")
    @classmethod
    def _known_synchronous(cls, value: str) -> str:
        value = value.upper()
        if value not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _host_names(cls, value: object) -> object:
        names = value.split(",") if isinstance(value, str) else value
        if not isinstance(names, list | tuple):
            return value
        hosts = []
        for name in names:
            host = str(name).strip().lower().removeprefix("[").removesuffix("]").rstrip(".")
            if not host:
                continue
            if host == "*" or (any(c in host for c in "/:@ ") and not _is_ip(host)):
                raise ValueError(f"ALLOWED_HOSTS: {name!r} is not a host name")
            hosts.append(host)
        return tuple(hosts)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> object:
        entries = value.split(",") if isinstance(value, str) else value
        if not isinstance(entries, list | tuple):
            return value
        networks = []
        for entry in entries:
            text = str(entry).strip()
            if not text:
                continue
            try:
                networks.append(str(ipaddress.ip_network(text, strict=False)))
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: {text!r} is not an address or a network such as 10.0.0.0/8"
                ) from None
        return tuple(networks)

    @model_validator(mode="after")
    def _safe_in_production(self) -> "Settings":
        if self.environment is Environment.prod:
            problems = production_problems(self)
            if problems:
                raise ValueError("unsafe settings for production: " + "; ".join(problems))
        return self

    @property
    def is_prod(self) -> bool:
        return self.environment is Environment.prod

    @property
    def base_host(self) -> str:
        """The host name of BASE_URL, lowercase; empty if it has none."""
        try:
            return (urlsplit(self.base_url).hostname or "").rstrip(".")
        except ValueError:
            return ""

    @property
    def host_names(self) -> frozenset[str]:
        """The Host names answered (ALLOWED_HOSTS, or what it defaults to)."""
        if self.allowed_hosts:
            return frozenset(self.allowed_hosts)
        names = {self.base_host} - {""}
        if not self.is_prod:
            names.update(LOOPBACK_HOSTS)
        return frozenset(names)

    @property
    def proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(entry) for entry in self.trusted_proxies)

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver SQLAlchemy needs, SQLite under DATA_DIR by default."""
        url = self.database_url
        if not url:
            return f"sqlite:///{(self.data_dir / 'portal.sqlite3').as_posix()}"
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @cached_property
    def signing_key(self) -> bytes:
        """SECRET_KEY, or in development a random key generated once and kept in DATA_DIR."""
        if self.secret_key:
            return self.secret_key.encode()
        key_file = self.data_dir / "secret_key"
        if not key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
        return key_file.read_text().strip().encode()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def production_problems(settings: Settings) -> list[str]:
    """What makes these settings unsafe for production, in words for the operator."""
    problems = []
    key = settings.secret_key or ""
    if key.lower() in WEAK_SECRETS or len(key) < MIN_SECRET_LENGTH:
        problems.append(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH}"
            " characters in production"
        )
    host = settings.base_host
    if settings.base_url == DEFAULT_BASE_URL or not host or _is_loopback(host):
        problems.append(
            "BASE_URL must be the portal's public address (https://...): links in e-mails"
            f" would point to {settings.base_url!r}"
        )
    elif not settings.base_url.lower().startswith("https://"):
        # The cookies are __Host- cookies, which browsers keep only over HTTPS.
        problems.append("BASE_URL must start with https:// in production")
    if not settings.host_names:
        problems.append(
            "ALLOWED_HOSTS must be set when it cannot be derived from the host of BASE_URL"
        )
    elif host and not _is_loopback(host) and host not in settings.host_names:
        problems.append(
            f"ALLOWED_HOSTS must include {host!r}, the host of BASE_URL, or the links in"
            " e-mails would be refused"
        )
    return problems


def get_settings() -> Settings:
    return Settings()
