"""Identifier factories: random ones for services, seeded ones for reproducible tests."""

from __future__ import annotations

import random
import secrets
import threading
import uuid

__all__ = ["RandomIdFactory", "SeededIdFactory"]


class RandomIdFactory:
    """Fresh random identifiers from the operating system's entropy."""

    def guid(self) -> str:
        return str(uuid.uuid4())

    def digits(self, count: int) -> str:
        return str(secrets.randbelow(10**count)).zfill(count) if count else ""


class SeededIdFactory:
    """The same identifiers, in the same order, for the same seed, in any process (thread-safe)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def guid(self) -> str:
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def digits(self, count: int) -> str:
        with self._lock:  # one draw a digit, as ever: a seed keeps its sequence across versions
            choice = self._random.choice
            return "".join([choice("0123456789") for _ in range(count)])
