#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite. Temporary files stay under .tmp/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
rm -rf .tmp/pytest
export HYPOTHESIS_STORAGE_DIRECTORY=.tmp/hypothesis
exec .venv/bin/python -m pytest -p no:cacheprovider --basetemp=.tmp/pytest "$@"
