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
# answering, the browser, the fault suite's scheduler), so together they take little more than
# the longest alone. With no arguments there are four, started at once:
#   - the embedded pass (SQLite, in-process store), the whole suite;
#   - the PostgreSQL pass in two halves, each a pytest process with a database of its own
#     (every PostgreSQL pass starts by dropping its database's schema): tests/bot and
#     tests/console/browser on `<name>`, everything else but the fault suite on `<name>_rest`
#     (named by what it leaves out, so that no new folder is left out), about as long;
#   - the fault suite (tests/faults: its own PostgreSQL, Redis and topology, about 100-170 s,
#     most of it waiting for the scheduler's next whole minute, little CPU) on `<name>_faults`.
# Each pytest process writes its Redis keys under a prefix of its own. With arguments
# (`./scripts/test.sh tests/club -x`) there are two passes, embedded and PostgreSQL, running
# exactly what was asked. The first PostgreSQL half's output is shown as it runs, the other
# passes' after it.
LOGS="$(mktemp -d -t clubbot-passes.XXXXXX)"
trap 'rm -rf "$LOGS"' EXIT
PASSES=()

# start_pass NAME COMMAND...: run COMMAND in the background, its output to $LOGS/NAME.log and
# its exit status to $LOGS/NAME.status.
start_pass() {
  local name="$1"
  shift
  PASSES+=("$name")
  (
    status=0
    "$@" >"$LOGS/$name.log" 2>&1 || status=$?
    echo "$status" >"$LOGS/$name.status"
  ) &
}

PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider)
embedded() {  # embedded COMMAND...: COMMAND without the servers
  env -u CLUBBOT_TEST_DATABASE_URL -u CLUBBOT_TEST_REDIS_URL "$@"
}
on_postgres() {  # on_postgres URL COMMAND...: COMMAND on the PostgreSQL database URL and Redis
  local url="$1"
  shift
  CLUBBOT_TEST_DATABASE_URL="$url" CLUBBOT_TEST_REDIS_URL="$REDIS_URL_FOR_TESTS" "$@"
}

if [ "$#" -eq 0 ]; then
  FAULTS_DB_URL="$(.venv/bin/python -m scripts.ensure_database "$PG_URL" faults)"
  REST_DB_URL="$(.venv/bin/python -m scripts.ensure_database "$PG_URL" rest)"
  echo "== tests: the fault suite (tests/faults, on the local topology), in the background"
  start_pass faults on_postgres "$FAULTS_DB_URL" "${PYTEST[@]}" tests/faults
  echo "== tests: embedded default (SQLite, in-process store), in the background"
  start_pass sqlite embedded "${PYTEST[@]}"
  FOREGROUND=(tests/bot tests/console/browser)
  echo "== tests: PostgreSQL and Redis, all but ${FOREGROUND[*]} and tests/faults" \
    "($REST_DB_URL), in the background"
  start_pass postgres-rest on_postgres "$REST_DB_URL" "${PYTEST[@]}" \
    "${FOREGROUND[@]/#/--ignore=}" --ignore=tests/faults
  echo "== tests: PostgreSQL and Redis, ${FOREGROUND[*]} ($PG_URL, $REDIS_URL_FOR_TESTS)"
else
  echo "== tests: embedded default (SQLite, in-process store), in the background"
  start_pass sqlite embedded "${PYTEST[@]}" "$@"
  FOREGROUND=("$@")
  echo "== tests: PostgreSQL and Redis ($PG_URL, $REDIS_URL_FOR_TESTS)"
fi
PG_STATUS=0
on_postgres "$PG_URL" .venv/bin/python -m pytest "${FOREGROUND[@]}" || PG_STATUS=$?

wait
SUMMARY="PostgreSQL pass $PG_STATUS"
FAILED=$PG_STATUS
for name in "${PASSES[@]}"; do
  status="$(cat "$LOGS/$name.status" 2>/dev/null || echo 1)"
  echo "== tests: the $name pass"
  cat "$LOGS/$name.log"
  SUMMARY="$SUMMARY, $name pass $status"
  [ "$status" -eq 0 ] || FAILED=1
done
echo "== exit status: $SUMMARY"
[ "$FAILED" -eq 0 ]
