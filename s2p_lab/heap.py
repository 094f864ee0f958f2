"""Keep freed memory in the process: large tensors then stop costing page faults.

glibc serves every allocation above its mmap threshold (at most 32 MB) with a fresh ``mmap`` and
unmaps it on free, so each such tensor costs one page fault per 4 KB page, and a kernel zero-fill,
every time it is allocated. A training step at 256 px allocates gigabytes of such blocks, and on
a 2-core CPU those faults took about a third of the step. :func:`keep_heap` makes glibc keep freed
memory for reuse instead. It changes the whole process for good, so only a process that exists
for one training run calls it: ``s2p train`` and ``python -m s2p_lab.train`` (also under
``torchrun``), see :func:`dedicated_process`. A ``Trainer`` built in a notebook kernel or a test
leaves the process's malloc alone, and so does the colorizer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable

_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_kept = False
# the programs that exist only to run one command of this library: the ``s2p`` script and the
# modules run with ``python -m`` (by hand or by torchrun)
_COMMAND_MODULES = ("s2p_lab.cli", "s2p_lab.train")
_COMMAND_SCRIPTS = ("s2p",)


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
    global _kept
    mallopt = glibc_mallopt()
    if mallopt is None:
        return False
    _kept = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _kept


def heap_kept() -> bool:
    """Whether :func:`keep_heap` changed this process's malloc."""
    return _kept


def dedicated_process() -> bool:
    """True when this process was started as an ``s2p`` command (not a kernel, test or host program)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name in _COMMAND_MODULES:
        return True
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return spec is None and script in _COMMAND_SCRIPTS
