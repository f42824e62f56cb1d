"""Named random streams from one root seed.

Owns: turning a root seed (or a sweep's ``SeedSequence(root, spawn_key=(cell, rep))``) into
independent, *named* numpy Generators. A stream depends only on the root and its name, never on the
order streams are asked for, so adding a new consumer never shifts another's numbers.
No global ``random`` / ``np.random.*`` state is used anywhere in pbs_sim.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np


def _name_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "little")


def seed_sequence(seed: int | np.random.SeedSequence | None, spawn_key: Sequence[int] = ()) -> np.random.SeedSequence:
    """A SeedSequence for ``seed``; ``spawn_key`` addresses a child (e.g. ``(cell, rep)`` in a sweep)."""
    if isinstance(seed, np.random.SeedSequence):
        if spawn_key:
            return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, *spawn_key))
        return seed
    return np.random.SeedSequence(seed, spawn_key=tuple(spawn_key))


def replication_seed(root: int, cell: int, rep: int) -> np.random.SeedSequence:
    """The seed of replication ``rep`` of sweep cell ``cell``: ``SeedSequence(root, spawn_key=(cell, rep))``."""
    return seed_sequence(root, (cell, rep))


def seed_label(seed: int | np.random.SeedSequence | None) -> int | str | None:
    """How result tables write a seed: an int as itself, a ``SeedSequence`` with a spawn key as
    ``"<entropy>:<key.key...>"`` (a sweep replication: ``"7:3.2"`` is ``SeedSequence(7,
    spawn_key=(3, 2))``), one without as its entropy. Text, because a spawn key has no int form."""
    if isinstance(seed, np.random.SeedSequence):
        if seed.spawn_key:
            return f"{seed.entropy}:{'.'.join(map(str, seed.spawn_key))}"
        entropy = seed.entropy
        return entropy if isinstance(entropy, int) or entropy is None else str(entropy)
    return seed


class Streams:
    """A family of named Generators derived from one SeedSequence.

    >>> s = Streams(1)
    >>> a = s.get("arrivals").random()
    >>> Streams(1).get("arrivals").random() == a
    True
    """

    def __init__(self, seed: int | np.random.SeedSequence | None) -> None:
        self.root = seed_sequence(seed)
        self._cache: dict[str, np.random.Generator] = {}

    @property
    def entropy(self) -> int | Sequence[int] | None:
        return self.root.entropy

    def sequence(self, name: str) -> np.random.SeedSequence:
        """The SeedSequence of stream ``name`` (child of the root keyed by the name's hash)."""
        return np.random.SeedSequence(
            self.root.entropy, spawn_key=(*self.root.spawn_key, _name_key(name))
        )

    def get(self, name: str) -> np.random.Generator:
        """The Generator for ``name``; the same object on every call within this Streams."""
        gen = self._cache.get(name)
        if gen is None:
            gen = np.random.Generator(np.random.PCG64(self.sequence(name)))
            self._cache[name] = gen
        return gen

    def child(self, name: str) -> Streams:
        """A nested family, e.g. one per node: ``streams.child("node-3").get("faults")``."""
        return Streams(self.sequence(name))
