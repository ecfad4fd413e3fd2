# clubbot: the WeChat callback, staff API and (in the embedded demo) the scheduler.
# Build: docker build -t clubbot .
# Run:   docker run -p 8080:8080 -v clubbot-data:/app/data --env-file .env clubbot
# Without DATABASE_URL and REDIS_URL the container runs the embedded demo (SQLite in /app/data,
# in-process store, demo secrets, dry-run outbox); production sets them and the WECHAT_* secrets.
# Dependencies come from requirements.lock (exact versions and hashes); scripts/lock.sh
# refreshes it and the base image digest below.

# Base image: python:3.11-slim as of 2026-07 (Python 3.11.16 on Debian trixie).
# Pinned by the digest of its multi-platform index, so every build starts from the same bytes.
FROM python:3.11-slim@sha256:be1575ed968de893bd54f4c56315ff7c4736ce522c1bca08fd521731aafc0d76

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /app

# The account first: it never changes, so this layer is built once.
RUN groupadd --system --gid 10001 clubbot \
    && useradd --system --uid 10001 --gid clubbot --home-dir /app --shell /usr/sbin/nologin \
        clubbot \
    && mkdir -p /app/data \
    && chown clubbot:clubbot /app/data

# Dependencies before the code: this layer is rebuilt only when requirements.lock changes, not
# on every code change. --require-hashes refuses any file whose hash is not in the lock.
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir --require-hashes -r requirements.lock

# The project itself, without dependencies (all installed above) and without build isolation
# (setuptools comes from the lock too, so nothing unpinned is fetched).
COPY pyproject.toml ./
COPY bot ./bot
COPY club ./club
COPY clubbot ./clubbot
COPY config ./config
COPY console ./console
COPY handlers ./handlers
COPY scheduler ./scheduler
RUN pip install --no-cache-dir --no-deps --no-build-isolation .

# The embedded demo's SQLite file (and anything else written at run time) lives here.
VOLUME ["/app/data"]

# Numeric, so the runtime can check it is not root without reading /etc/passwd.
USER 10001:10001

# Listen on every interface inside the container (the default 127.0.0.1 would be unreachable).
ENV HOST=0.0.0.0 \
    PORT=8080
EXPOSE 8080

# Liveness only (/healthz): /readyz would mark the container unhealthy when the database is down,
# and restarting it would not bring the database back. No curl in slim images: use Python.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8080') + '/healthz', timeout=4)"]

CMD ["python", "-m", "bot"]
