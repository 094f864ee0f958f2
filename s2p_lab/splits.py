"""The fixed validation split: which training illustrations are held out.

A file is held out when a hash of its name falls in a fixed bucket, so the split is stable when
files are added or removed and needs no list to ship. Training skips these files; evaluation uses
only them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

HOLDOUT_PERCENT = 3  # about 44 of the 1462 shared illustrations


def is_holdout(name: str | Path) -> bool:
    """True when the illustration with this file name belongs to the validation split."""
    digest = hashlib.sha1(Path(name).name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HOLDOUT_PERCENT


def split_paths(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Split image paths into (training, held-out validation), each sorted by name."""
    train, held = [], []
    for path in sorted(paths, key=lambda p: Path(p).name):
        (held if is_holdout(path) else train).append(Path(path))
    return train, held
