#!/usr/bin/env bash
# Set up, then colorize the sample portrait with every sample style reference and the sample
# hints, using the shipped weights. Results: outputs/demo/<reference>.png
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/s2p colorize sample_data/sketches/girl_portrait.png \
  $(for f in sample_data/styles/*.png; do printf -- '--style %s ' "$f"; done) \
  --hints sample_data/hints/girl_hints.json -o outputs/demo
