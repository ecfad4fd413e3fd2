#!/usr/bin/env bash
# Refresh what the image is built from:
#   1. requirements.lock: every runtime dependency of pyproject.toml (and setuptools, to build
#      the project without fetching anything unpinned), exact versions with their SHA-256
#      hashes, resolved by uv for every platform (`--universal`) on Python 3.11. The Dockerfile
#      installs it with `pip install --require-hashes`.
#   2. the base image digest in the Dockerfile's FROM line (python:3.11-slim), when the Docker
#      registry answers (skipped with a note otherwise: the pinned digest stays as it is).
# Run it after changing dependencies in pyproject.toml, and now and then for security updates;
# commit requirements.lock and the Dockerfile together. `--check` changes nothing and exits 1
# if the lock no longer matches pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE_TAG="3.11-slim"
UV=".venv/bin/uv"
if [ ! -x "$UV" ]; then
  UV="$(command -v uv || true)"
fi
if [ -z "$UV" ]; then
  echo "uv is missing: .venv/bin/pip install -e '.[dev]' installs it" >&2
  exit 2
fi

compile() {
  # setuptools is the build backend (pyproject.toml [build-system]); locked so the image
  # builds the project with --no-build-isolation from pinned, hashed files only.
  echo "setuptools>=69" | "$UV" pip compile pyproject.toml - \
    --generate-hashes --universal --python-version 3.11 --quiet \
    --custom-compile-command "scripts/lock.sh" -o "$1"
}

if [ "${1:-}" = "--check" ]; then
  fresh="$(mktemp)"
  trap 'rm -f "$fresh"' EXIT
  cp requirements.lock "$fresh"
  # --upgrade is not given: uv keeps the locked versions that still satisfy pyproject.toml.
  compile "$fresh"
  if ! diff -q requirements.lock "$fresh" >/dev/null; then
    echo "requirements.lock is out of date: run scripts/lock.sh" >&2
    exit 1
  fi
  echo "requirements.lock matches pyproject.toml"
  exit 0
fi

rm -f requirements.lock
compile requirements.lock
echo "requirements.lock: $(grep -c '==' requirements.lock) packages pinned with hashes"

# The digest of the multi-platform image index of python:$BASE_TAG, from the registry's API
# (what `docker buildx imagetools inspect python:$BASE_TAG` prints as Digest).
token="$(curl -fsS --max-time 20 \
  "https://auth.docker.io/token?service=registry.docker.io&scope=repository:library/python:pull" \
  2>/dev/null | sed -n 's/.*"token":"\([^"]*\)".*/\1/p' || true)"
digest=""
if [ -n "$token" ]; then
  digest="$(curl -fsSI --max-time 20 -H "Authorization: Bearer $token" \
    -H "Accept: application/vnd.oci.image.index.v1+json" \
    -H "Accept: application/vnd.docker.distribution.manifest.list.v2+json" \
    "https://registry-1.docker.io/v2/library/python/manifests/$BASE_TAG" 2>/dev/null \
    | tr -d '\r' | sed -n 's/^docker-content-digest: *//Ip' || true)"
fi
if [ -z "$digest" ]; then
  echo "Docker registry not reachable: the base image stays pinned to" \
    "$(sed -n 's/^FROM \(.*\)/\1/p' Dockerfile | head -1)"
  exit 0
fi
sed -i "s|^FROM python:$BASE_TAG@sha256:[0-9a-f]*|FROM python:$BASE_TAG@$digest|" Dockerfile
sed -i "s|^# Base image: python:$BASE_TAG as of .*|# Base image: python:$BASE_TAG as of $(date -u +%Y-%m-%d) (scripts/lock.sh).|" Dockerfile
echo "Dockerfile: python:$BASE_TAG@$digest"
