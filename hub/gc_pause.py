"""Pausing Python's cyclic garbage collector around a synchronous burst of allocations."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Build a million acyclic objects (strings, tuples, lists) without the collector re-scanning the
    whole heap every few thousand allocations. Only for code without awaits: a pause that spans an
    await would also pause it for every other request of the process."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
