"""Keep freed memory in the process: large tensors then stop costing page faults.

glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh ``mmap`` and
unmaps it on free, so each such tensor costs one page fault per 4 KB page, and a kernel zero-fill,
every time it is allocated. A training step at 256 px allocates gigabytes of such blocks, and on
a 2-core CPU those faults took about a third of the step. :func:`keep_heap` makes glibc keep freed
memory for reuse instead. The trainer calls it (``TrainConfig.keep_heap``); the colorizer does
not, since it runs inside people's notebooks, whose memory should go back after a big call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4


def glibc_mallopt() -> Callable[[int, int], int] | None:
    """glibc's ``mallopt``, or None where the C library is not glibc (or not found)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.mallopt
    except (OSError, AttributeError):
        return None


def keep_heap() -> bool:
    """Make glibc keep freed memory for reuse instead of returning it to the system.

    Same as starting the process with ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647``:
    process-wide, and the memory of the largest step stays with the process until it exits.
    Returns True when glibc took the settings, False elsewhere (nothing changes there).
    """
    mallopt = glibc_mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
