"""Run the benchmark without installing the command line: ``python bench/run_bench.py [options]``.

The same as ``s2p bench`` (see ``s2p_lab/bench/`` for what is measured); for example

    python bench/run_bench.py --sizes 256 512 1024 --train-sizes 128 256 --json bench/results_cpu.json
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from s2p_lab.bench import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
