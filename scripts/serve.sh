#!/usr/bin/env bash
# Install WakeBuilder into .venv and start the server on http://127.0.0.1:8000.
# On machines with apt, real-speech negatives are fetched and embedded in the background
# (log: data/logs/negatives.log); training works before that finishes, on generated negatives.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e .
mkdir -p data/logs
if [ "${WAKEBUILDER_SKIP_CORPUS:-0}" != "1" ]; then
  ( .venv/bin/wakebuilder corpus fetch --optional --data-dir data \
    && .venv/bin/wakebuilder cache build --data-dir data ) > data/logs/negatives.log 2>&1 &
fi
exec .venv/bin/wakebuilder serve --data-dir data "$@"
