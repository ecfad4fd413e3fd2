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

# The passes run side by side: much of each is waiting (subprocesses starting, servers
# answering, the browser), so together they take little more than the longer one alone.
# With no arguments the fault suite (tests/faults: its own PostgreSQL, Redis and topology,
# about 150 s, most of it waiting for the scheduler's next whole minute) is a pass of its own,
# run after the embedded pass in the background while the PostgreSQL pass runs the rest; it
# gets a database of its own (`<name>_faults`) because every PostgreSQL pass starts by dropping
# its database's schema. With arguments (`./scripts/test.sh tests/club -x`) the two passes run
# exactly what was asked. The background passes' output is printed after the foreground's.
SQLITE_LOG="$(mktemp -t clubbot-sqlite-pass.XXXXXX)"
FAULTS_LOG="$(mktemp -t clubbot-faults-pass.XXXXXX)"
STATUS_DIR="$(mktemp -d -t clubbot-pass-status.XXXXXX)"
trap 'rm -rf "$SQLITE_LOG" "$FAULTS_LOG" "$STATUS_DIR"' EXIT
SPLIT_FAULTS=0
PG_ARGS=("$@")
if [ "$#" -eq 0 ]; then
  SPLIT_FAULTS=1
  PG_ARGS=(--ignore=tests/faults)
  FAULTS_DB_URL="$(.venv/bin/python -m scripts.ensure_database "$PG_URL" faults)"
fi

echo "== tests: embedded default (SQLite, in-process store), in the background"
(
  status=0
  env -u CLUBBOT_TEST_DATABASE_URL -u CLUBBOT_TEST_REDIS_URL \
    .venv/bin/python -m pytest -p no:cacheprovider "$@" >"$SQLITE_LOG" 2>&1 || status=$?
  echo "$status" >"$STATUS_DIR/sqlite"
  if [ "$SPLIT_FAULTS" -eq 1 ]; then
    status=0
    CLUBBOT_TEST_DATABASE_URL="$FAULTS_DB_URL" CLUBBOT_TEST_REDIS_URL="$REDIS_URL_FOR_TESTS" \
      .venv/bin/python -m pytest -p no:cacheprovider tests/faults >"$FAULTS_LOG" 2>&1 \
      || status=$?
    echo "$status" >"$STATUS_DIR/faults"
  fi
) &
BACKGROUND_PID=$!

echo "== tests: PostgreSQL and Redis ($PG_URL, $REDIS_URL_FOR_TESTS)"
PG_STATUS=0
CLUBBOT_TEST_DATABASE_URL="$PG_URL" CLUBBOT_TEST_REDIS_URL="$REDIS_URL_FOR_TESTS" \
  .venv/bin/python -m pytest "${PG_ARGS[@]}" || PG_STATUS=$?

wait "$BACKGROUND_PID" || true
SQLITE_STATUS="$(cat "$STATUS_DIR/sqlite" 2>/dev/null || echo 1)"
echo "== tests: embedded default (SQLite, in-process store)"
cat "$SQLITE_LOG"
FAULTS_STATUS=0
if [ "$SPLIT_FAULTS" -eq 1 ]; then
  FAULTS_STATUS="$(cat "$STATUS_DIR/faults" 2>/dev/null || echo 1)"
  echo "== tests: the fault suite (tests/faults, on the local topology)"
  cat "$FAULTS_LOG"
fi

echo "== exit status: SQLite pass $SQLITE_STATUS, PostgreSQL pass $PG_STATUS, fault suite $FAULTS_STATUS"
[ "$SQLITE_STATUS" -eq 0 ] && [ "$PG_STATUS" -eq 0 ] && [ "$FAULTS_STATUS" -eq 0 ]
