import secrets
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WEAK_SECRETS = {"", "changeme", "secret", "dev", "development", "insecure"}
MIN_SECRET_LENGTH = 32


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
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str | None = None
    mail_from: str = "Integrity Icon <no-reply@integrity-icon.invalid>"
    default_locale: str = "es"
    nomination_rate_limit: int = 10
    form_min_seconds: int = 5
    form_max_age_hours: int = 24
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
    privacy_updated_on: str = "2026-11-27"
    log_level: str = "INFO"
    # How long a worker serves a rendered public page from memory (app/web/pagecache.py); 0: never.
    page_cache_seconds: float = 10.0
    # Requests of a worker that run in threads at once (app/process.py).
    worker_threads: int = 3

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("es", "en"):
            raise ValueError("DEFAULT_LOCALE must be 'es' or 'en'")
        return value

    @field_validator("sqlite_synchronous")
    @classmethod
    def _known_synchronous(cls, value: str) -> str:
        value = value.upper()
        if value not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        return value

    @model_validator(mode="after")
    def _strong_secret_in_production(self) -> "Settings":
        if self.environment is Environment.prod:
            key = self.secret_key or ""
            if key.lower() in WEAK_SECRETS or len(key) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH}"
                    " characters in production"
                )
        return self

    @property
    def is_prod(self) -> bool:
        return self.environment is Environment.prod

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


def get_settings() -> Settings:
    return Settings()
