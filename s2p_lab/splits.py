"""The fixed validation split: which illustrations are held out, by source group, never by file.

An illustration's **group** is its file name without the trailing ``_<number>`` and extension
(``touhou_0042.jpg`` -> ``touhou``): the shared data names every file after the collection it came
from, and a collection shares its characters and its drawing conventions. Splitting by file let
45 of the 52 old held-out images share a collection, and so their characters, with training
images; splitting by group keeps them apart.

Held out (:data:`HELD_OUT_GROUPS`, fixed): ``touhou`` (108 full-body character portraits on white,
one per character) and the eight small collections of full illustrations, animation frames and
manga colorization pages (``anidoc``, ``anime2sketch``, ``animeinpainting``,
``controlnetv11nightly``, ``danbooregion``, ``lvcd``, ``manganinjia``, ``waifu2x``; 21 images):
129 of the 1462 shared illustrations (8.8 %). No face-crop collection is held out (they are 60 %
of the training data and each holds many images of few characters). One overlap remains: the
``moeimouto`` face crops include 39 of Hakurei Reimu, who also has a ``touhou`` portrait.

Groups not named anywhere here (a user's own folders) are held out when a hash of the group name
falls in a fixed bucket (:data:`OTHER_GROUPS_PERCENT`), so the rule needs no list for new data and
never splits a group. Training skips the held-out files; evaluation uses only them.

The shipped model v0.2 was trained before this split, under the per-file rule kept here as
:func:`legacy_is_holdout`; ``s2p eval`` reports which held-out images that rule trained on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

#: Source groups held out for validation (file-name prefixes of the shared data).
HELD_OUT_GROUPS: frozenset[str] = frozenset({
    "touhou", "anidoc", "anime2sketch", "animeinpainting", "controlnetv11nightly", "danbooregion",
    "lvcd", "manganinjia", "waifu2x",
})
#: Source groups of the shared data that are always trained on.
TRAINING_GROUPS: frozenset[str] = frozenset({
    "holoenface", "moeimouto", "genshin", "pokemon", "style2paints", "ratakorwall", "colorflow",
})
#: For any other group: held out when ``sha1(group) % 100`` is below this.
OTHER_GROUPS_PERCENT = 8
LEGACY_HOLDOUT_PERCENT = 3

_NUMBERED = re.compile(r"^(?P<group>.+?)[_-]\d+$")


def source_group(name: str | Path) -> str:
    """The source group of a file: its stem without a trailing ``_<digits>``, lower case."""
    stem = Path(name).stem.lower()
    match = _NUMBERED.match(stem)
    return match.group("group") if match else stem


def is_holdout(name: str | Path) -> bool:
    """True when the illustration with this file name belongs to the validation split."""
    group = source_group(name)
    if group in HELD_OUT_GROUPS:
        return True
    if group in TRAINING_GROUPS:
        return False
    digest = hashlib.sha1(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < OTHER_GROUPS_PERCENT


def legacy_is_holdout(name: str | Path) -> bool:
    """The per-file rule of model v0.2's training (a hash of the file name; 3 % of files)."""
    digest = hashlib.sha1(Path(name).name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < LEGACY_HOLDOUT_PERCENT


def split_paths(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Split image paths into (training, held-out validation), each sorted by name.

    When every path would be held out (a folder of one held-out group), nothing is: all are
    training images, so that training on such a folder still works.
    """
    train, held = [], []
    for path in sorted(paths, key=lambda p: Path(p).name):
        (held if is_holdout(path) else train).append(Path(path))
    if held and not train:
        return held, []
    return train, held
