#!/usr/bin/env bash
# Set up and run the whole check: lint, types, layering, then the test suite twice:
#   1. the embedded default (SQLite in memory, in-process store);
#   2. the real PostgreSQL and Redis (concurrency, multi-process and storage tests run here).
# Override the servers with CLUBBOT_TEST_DATABASE_URL / CLUBBOT_TEST_REDIS_URL.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${CLUBBOT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
REDIS_URL_FOR_TESTS="${CLUBBOT_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== lock file current (scripts/lock.sh --check)"
scripts/lock.sh --check
echo "== mypy"
.venv/bin/mypy
echo "== import-linter"
.venv/bin/lint-imports

# The two passes run side by side: much of each is waiting (subprocesses starting, servers
# answering, the browser), so together they take little more than the longer one alone. The
# embedded pass's output is kept in a file and printed after the other's.
SQLITE_LOG="$(mktemp -t clubbot-sqlite-pass.XXXXXX)"
trap 'rm -f "$SQLITE_LOG"' EXIT
echo "== tests: embedded default (SQLite, in-process store), in the background"
env -u CLUBBOT_TEST_DATABASE_URL -u CLUBBOT_TEST_REDIS_URL \
  .venv/bin/python -m pytest -p no:cacheprovider "$@" >"$SQLITE_LOG" 2>&1 &
SQLITE_PID=$!

echo "== tests: PostgreSQL and Redis ($PG_URL, $REDIS_URL_FOR_TESTS)"
PG_STATUS=0
CLUBBOT_TEST_DATABASE_URL="$PG_URL" CLUBBOT_TEST_REDIS_URL="$REDIS_URL_FOR_TESTS" \
  .venv/bin/python -m pytest "$@" || PG_STATUS=$?

SQLITE_STATUS=0
wait "$SQLITE_PID" || SQLITE_STATUS=$?
echo "== tests: embedded default (SQLite, in-process store)"
cat "$SQLITE_LOG"

echo "== exit status: SQLite pass $SQLITE_STATUS, PostgreSQL pass $PG_STATUS"
[ "$SQLITE_STATUS" -eq 0 ] && [ "$PG_STATUS" -eq 0 ]
