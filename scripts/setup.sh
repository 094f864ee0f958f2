#!/usr/bin/env bash
# Create .venv and install s2p-lab with its notebook and test extras and the Hint-AUC metric.
# Safe to run again.
# torch is installed first and pinned to the 2.13.0 CPU build, so no later requirement makes pip
# choose a CUDA build (gigabytes). Set S2P_TORCH_INDEX to a wheel index (e.g. PyTorch's CPU or a
# CUDA index) to take torch from there instead.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip install -q --disable-pip-version-check)
if ! .venv/bin/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  if [ -n "${S2P_TORCH_INDEX:-}" ]; then
    "${pip[@]}" "torch==2.13.0" --index-url "$S2P_TORCH_INDEX"
  else
    "${pip[@]}" "torch==2.13.0"
  fi
fi
"${pip[@]}" -e ".[dev]"
# Hint-AUC is part of every `s2p eval` run; hintauc's own pins would downgrade numpy, so it has its
# own installer (no dependency pins, only what its geodesic path imports).
bash scripts/install_hintauc.sh
.venv/bin/python - <<'PY'
import importlib.metadata as md, torch
cuda = sorted(d.metadata["Name"] for d in md.distributions() if d.metadata["Name"].lower().startswith("nvidia-"))
print(f"s2p-lab ready: torch {torch.__version__}" + (f" (CUDA packages present: {', '.join(cuda)})" if cuda else ", no CUDA packages"))
PY
