#!/usr/bin/env bash
# Install what the tests need (Debian's chromium for browser tests, the package with its
# test extras) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
python3 -m pip install -q -e ".[test]"
python3 -m ruff check src tests benchmarks
python3 -m pytest -q "$@"
