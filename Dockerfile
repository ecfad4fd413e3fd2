# clubbot: the WeChat callback, staff API and (in the embedded demo) the scheduler.
# Build: docker build -t clubbot .
# Run:   docker run -p 8080:8080 --env-file .env clubbot
# Without DATABASE_URL and REDIS_URL the container runs the embedded demo (SQLite in /app/data,
# in-process store, demo secrets, dry-run outbox); production sets them and the WECHAT_* secrets.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The same install as the README: a virtual environment and a pip install of the project.
WORKDIR /app
COPY . .
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir . \
    && groupadd --system --gid 10001 clubbot \
    && useradd --system --uid 10001 --gid clubbot --home-dir /app --shell /usr/sbin/nologin \
        clubbot \
    && mkdir -p /app/data \
    && chown clubbot:clubbot /app/data

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
