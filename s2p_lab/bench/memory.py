"""Peak memory: the RSS of a fresh process that loads the model and colorizes."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from .inputs import HINTS_BEFORE, HINTS_EDIT, REFERENCES, load_colorizer


def maxrss_mb() -> float:
    """Peak RSS of this process so far (``getrusage`` maxrss), MB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024, 1)


def _current_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def measure_memory(spec: dict) -> dict:
    """Peak RSS of a fresh process: model loaded, one colorization, a hint edit, nine references."""
    size, images = spec["size"], spec["images"]
    sketch, style = images["sketches"][str(size)], images["styles"][0]
    colorizer = load_colorizer(spec)
    loaded = maxrss_mb()
    colorizer.colorize(sketch, [style], hints=HINTS_BEFORE, size=size)
    one = maxrss_mb()
    colorizer.colorize(sketch, [style], hints=HINTS_EDIT, size=size)
    one_and_edit = maxrss_mb()
    colorizer.colorize(sketch, images["styles"][:REFERENCES], hints=HINTS_EDIT, size=size)
    return {"loaded": loaded, "one": one, "one_and_edit": one_and_edit, "nine": maxrss_mb()}
