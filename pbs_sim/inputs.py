"""The data files a configuration reads, and their content digests.

Owns: noting every data file read while a scenario is loaded (``empirical()`` traces, profile TOML
files) with the SHA-256 of the bytes actually parsed, so a sweep's identity can cover the *content*
of what it read, not only its path (``SweepSpec.hash``; resume refuses a changed file).
Must not touch: parsing (the readers call ``note``), results directories.

Usage: ``with recording() as seen: ...load...`` then ``seen`` maps absolute path -> hex digest.
Recordings nest (an inner file read is seen by every open recording); nothing is recorded when no
recording is open, so the readers pay one list check.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path

_open: list[dict[str, str]] = []


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def note(path: str | Path, data: bytes) -> None:
    """Record that ``path`` was read with content ``data`` (in every open recording)."""
    if not _open:
        return
    key, value = str(Path(path).resolve()), digest(data)
    for seen in _open:
        seen[key] = value


@contextlib.contextmanager
def recording() -> Iterator[dict[str, str]]:
    """Collect ``{absolute path: sha256}`` of every data file read inside the block."""
    seen: dict[str, str] = {}
    _open.append(seen)
    try:
        yield seen
    finally:
        _open.remove(seen)


def note_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Record ``path`` like :func:`note`, hashing it in chunks (large traces are never read whole);
    returns the digest."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    value = h.hexdigest()
    note_digest(path, value)
    return value


def note_digest(path: str | Path, value: str) -> None:
    """Record that ``path`` was read with this content digest (already computed)."""
    key = str(Path(path).resolve())
    for seen in _open:
        seen[key] = value
