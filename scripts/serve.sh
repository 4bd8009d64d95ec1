#!/usr/bin/env bash
# Install WakeBuilder into .venv and start the server on http://127.0.0.1:8000.
# On machines with apt, real-speech negatives are fetched and embedded in the background
# (log: data/logs/negatives.log): a first slice within minutes, the full store later. A
# training job started before the first slice waits for it (POST /api/train/start
# wait_for_negatives).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e .
mkdir -p data/logs
if [ "${WAKEBUILDER_SKIP_CORPUS:-0}" != "1" ]; then
  # Progressive: generated corpus, a quick diverse slice of real audio (minutes), then the rest.
  # `wakebuilder cache info` and the Train page show where it stands.
  .venv/bin/wakebuilder cache prepare --data-dir data > data/logs/negatives.log 2>&1 &
fi
exec .venv/bin/wakebuilder serve --data-dir data "$@"
