"""Files on disk: the one atomic writer and the one image-folder lister of the project."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")

__all__ = ["IMAGE_SUFFIXES", "file_sha256", "list_image_files", "write_bytes_atomic"]


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, in hex: the content hash that names a weights file."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    Parent folders are created. An existing file at ``path`` is either kept intact or fully
    replaced, never left half-written. The file gets the usual umask mode (not ``mkstemp``'s
    private 0600). ``durable=False`` skips the fsyncs (a file that can be made again: after a
    crash it may be lost or cut short, never half of two versions). Returns the path.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not durable:
        return target
    try:  # make the rename itself durable where the platform allows it
        dir_fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return target
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return target


def list_image_files(folder: str | os.PathLike, *, recursive: bool = False) -> list[Path]:
    """Image files (by suffix, hidden files skipped) in ``folder``, sorted; [] when there are none.

    Raises ``NotADirectoryError`` when ``folder`` is not a directory; callers turn that and an
    empty list into their own typed errors.
    """
    root = Path(folder)
    if not root.is_dir():
        raise NotADirectoryError(f"not a directory: {root}")
    candidates = root.rglob("*") if recursive else root.iterdir()
    return sorted(
        p for p in candidates
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )
