"""Pausing Python's cyclic garbage collector around a synchronous burst of allocations."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Build a million acyclic objects (strings, tuples, lists) without the collector re-scanning the
    whole heap every few thousand allocations. The pause is process-wide (other requests run without
    cyclic collection meanwhile, reference counting still frees their garbage): keep it to a burst of
    a few seconds."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
