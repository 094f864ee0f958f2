#!/usr/bin/env bash
# The Hint-AUC metric of `s2p eval` (scripts/setup.sh runs this; without it the JSON says
# "not measured" and the model cannot pass). hintauc pins astropy<6 (and so numpy<2) and
# requires opencv-python beside our opencv-python-headless; its geodesic path needs neither, so
# install it without its pins and add only what that path imports.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "hintauc==0.3.3"
.venv/bin/python -m pip install -q --disable-pip-version-check scikit-image scipy lazy_loader imageio tifffile
echo "hintauc installed for its geodesic path; pip's note above about its astropy, fil_finder and opencv-python pins is expected"
