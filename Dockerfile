FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data ENVIRONMENT=prod
WORKDIR /srv/portal

RUN useradd --system --uid 10001 --home-dir /srv/portal portal \
    && mkdir -p /data && chown portal /data

COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
# Editable, so the migrations and alembic.ini stay beside the package that runs them.
RUN pip install -e .

USER portal
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["sh", "-c", "python -m app migrate && exec python -m app serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-2}"]
