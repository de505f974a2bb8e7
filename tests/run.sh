#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine, then runs it.
# The README's test command and .ci/run both call exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser tests drive Debian's Chromium through Playwright (no browser download).
if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
    else
        echo "note: chromium/fonts-noto-cjk missing and not root; browser tests will be skipped" >&2
    fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[test,bench,typesense]'
python3 -m ruff check indexer search_app tests bench
python3 -m pytest -q "$@"
