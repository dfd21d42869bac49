# The portal as a container image: `docker build -t integrity-icon .` (or podman build).
# BASE_IMAGE: any Debian-based image with python3 (3.11 or newer) and its venv module; the
# official Python image by default. PIP_CERT: a CA bundle for pip, for builds behind a
# TLS-inspecting proxy (mount the host's certificates and name the bundle here).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH \
    DATA_DIR=/data ENVIRONMENT=prod HOST=0.0.0.0 PORT=8000 WORKERS=2
WORKDIR /srv/portal

# pg_dump and pg_restore, for `python -m app backup` on PostgreSQL (Debian's client, version 15:
# the server must not be newer).
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# A user of its own, also on a minimal base without useradd. The code stays root's: the
# server can write only to the data directory.
RUN if command -v useradd >/dev/null 2>&1; then \
        useradd --system --uid 10001 --user-group --home-dir /srv/portal --shell /usr/sbin/nologin portal; \
    else \
        echo "portal:x:10001:10001::/srv/portal:/usr/sbin/nologin" >> /etc/passwd \
        && echo "portal:x:10001:" >> /etc/group; \
    fi \
    && mkdir -p /data && chown 10001:10001 /data && chmod 700 /data

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
ARG PIP_CERT=""
# Editable, so the migrations and alembic.ini stay beside the package that runs them.
RUN if [ -z "$PIP_CERT" ]; then unset PIP_CERT; fi \
    && python3 -m venv /opt/venv \
    && pip install --quiet --upgrade pip \
    && pip install --quiet -e . \
    && python -m compileall -q app migrations

USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
# With the host of BASE_URL as Host: any other is refused (ALLOWED_HOSTS, docs/operations.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.parse, urllib.request as r; host = urllib.parse.urlsplit(os.environ.get('BASE_URL', '')).hostname or '127.0.0.1'; r.urlopen(r.Request(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", headers={'Host': host}), timeout=4)"]
CMD ["sh", "-c", "python -m app migrate && exec python -m app serve --host \"$HOST\" --port \"$PORT\" --workers \"$WORKERS\""]
