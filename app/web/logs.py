"""Secrets in URLs stay out of the logs.

A few addresses carry a secret in their path: whoever holds it gets in. Set-password links
(invitations and password resets) sign someone in as the account's owner; a receipt reference
shows what a citizen nominated. The access log (uvicorn's) and our own error log name the path
of each request, so they name these as `/account/set-password/[redacted]`. A new address that
carries a secret adds its prefix to SECRET_PATHS: the consent and draft links mailed to
nominees and nominators, and the vote's confirmation links, are such addresses too.
"""

import logging
import re
from urllib.parse import unquote

SECRET_PATHS = (
    "/account/set-password/",
    "/nominations/",
    "/consent/",
    "/drafts/",
    "/vote/confirm/",
    "/vote/sent/",
)
# Pages under those prefixes whose name is not a secret (`/nominations/status`).
NAMED_PAGES = frozenset({"status"})
REDACTED = "[redacted]"
_SECRET = re.compile(
    "^(" + "|".join(re.escape(prefix) for prefix in SECRET_PATHS) + r")([^/?#\s\"]+)"
)
ACCESS_LOGGER = "uvicorn.access"


def redact(path: str) -> str:
    """The path (with or without its query) with the secret part of a secret address hidden,
    however its characters were percent-encoded."""
    for candidate in (path, unquote(path)):
        found = _SECRET.match(candidate)
        if found and found[2] not in NAMED_PAGES:
            return found[1] + REDACTED + candidate[found.end() :]
    return path


class RedactSecrets(logging.Filter):
    """Redacts the request path in each record of uvicorn's access log, whose arguments are
    (client, method, path with query, HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact_access_log() -> None:
    """Installs the filter once in this process (after uvicorn has configured its logging)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, RedactSecrets) for existing in logger.filters):
        logger.addFilter(RedactSecrets())
