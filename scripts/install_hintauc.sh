#!/usr/bin/env bash
# Optional: the Hint-AUC metric for `s2p eval`. hintauc pins astropy<6 (and so numpy<2) and
# requires opencv-python beside our opencv-python-headless; its geodesic path needs neither, so
# install it without its pins and add only what that path imports.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q --no-deps hintauc
.venv/bin/python -m pip install -q scikit-image scipy lazy_loader imageio tifffile
