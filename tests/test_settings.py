"""Production refuses unsafe settings at start (app.config): the portal does not run with links
to localhost, with no host of its own, or with cookies no browser would keep."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from app.config import Settings
from tests.server import ROOT

STRONG = "a-production-secret-" + "x" * 40


def prod(**values: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, environment="prod", secret_key=STRONG, **values
    )


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as refused:
        prod(**values)
    return str(refused.value)


def test_production_refuses_the_default_base_url() -> None:
    assert "BASE_URL must be the portal's public address" in refusal()


@pytest.mark.parametrize(
    "base_url", ["http://localhost:8000", "https://127.0.0.1", "https://[::1]/", "https:///x"]
)
def test_production_refuses_a_base_url_without_a_public_host(base_url: str) -> None:
    assert "BASE_URL must be the portal's public address" in refusal(base_url=base_url)


def test_production_refuses_plain_http_for_its_host_cookies() -> None:
    assert "BASE_URL must start with https://" in refusal(base_url="http://portal.example.org")


def test_production_refuses_allowed_hosts_without_the_host_of_base_url() -> None:
    problem = refusal(base_url="https://portal.example.org", allowed_hosts="other.example.org")

    assert "ALLOWED_HOSTS must include 'portal.example.org'" in problem


def test_production_derives_allowed_hosts_from_base_url() -> None:
    settings = prod(base_url="https://Portal.Example.org/")

    assert settings.host_names == {"portal.example.org"}


def test_dev_adds_loopback_names_to_the_host_of_base_url() -> None:
    settings = Settings(_env_file=None, base_url="http://portal.test:8000")  # type: ignore[call-arg]

    assert settings.host_names == {"portal.test", "localhost", "127.0.0.1", "::1"}


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "proxy.example.org", "*"])
def test_trusted_proxies_must_be_addresses_or_networks(entry: str) -> None:
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings(_env_file=None, trusted_proxies=entry)  # type: ignore[call-arg]


def test_allowed_hosts_refuses_a_wildcard() -> None:
    with pytest.raises(ValidationError, match="ALLOWED_HOSTS"):
        Settings(_env_file=None, allowed_hosts="*")  # type: ignore[call-arg]


def test_serve_in_production_with_the_default_base_url_refuses_to_start(
    settings: Settings,
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("BASE_URL", "ALLOWED_HOSTS")},
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": STRONG,
        "ENVIRONMENT": "prod",
    }
    env.pop("DATABASE_URL", None)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url

    done = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--port", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert "error: unsafe settings for production: BASE_URL must be" in done.stderr
    assert "Traceback" not in done.stderr
