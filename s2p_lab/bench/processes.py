"""Fresh processes for the measurements: one measurement's child process, its environment, and
how it fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path


class ChildError(RuntimeError):
    """A measurement's process failed or timed out."""


def run_child(work: Path, spec: dict, timeout: float = 3600) -> dict:
    """Run one measurement in a fresh Python process; return its JSON result."""
    out = work / f"child-{time.monotonic_ns()}.json"
    spec = {**spec, "out": str(out)}
    env = child_env()
    if spec.get("threads"):
        env["OMP_NUM_THREADS"] = str(spec["threads"])
    cmd = [sys.executable, "-m", "s2p_lab.bench", "--child", json.dumps(spec)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise ChildError(f"timed out after {timeout:.0f} s") from None
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ChildError(f"exit {done.returncode}: {' | '.join(tail)}")
    return json.loads(out.read_text())


def child_env() -> dict:
    """The environment of a child process: this copy of ``s2p_lab`` first on its path."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env
