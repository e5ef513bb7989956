"""The draw of a double-random plan (双随机), as a pure function anyone can re-run: chub-draw-v1.

Nothing here touches the database: the service feeds it the frozen lists, and the verifier
(`credit-hub plan verify`) feeds it the published plan. ALGORITHM.md states it in prose; the two
must say the same thing.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

ALGORITHM = "chub-draw-v1"
CATEGORIES = ("trustworthy", "minor", "general", "serious")
SEED_BYTES = 32
_SPACE = 1 << 256


class TooFewInspectors(ValueError):
    """A drawn entity has fewer than two inspectors without a declared conflict."""

    def __init__(self, uscc: str, eligible: int) -> None:
        super().__init__(f"entity {uscc} has {eligible} eligible inspector(s); two are needed")
        self.uscc = uscc
        self.eligible = eligible


@dataclass(frozen=True, slots=True)
class PoolInspector:
    """An inspector of the frozen pool and the entities it declared a conflict with (回避)."""

    id: str
    name: str
    conflicts: tuple[str, ...] = ()


class Assignment(NamedTuple):
    """A drawn entity and its two inspectors, in the order they were drawn (a tuple: a draw makes
    hundreds of thousands of them)."""

    uscc: str
    category: str
    inspectors: tuple[str, str]


@dataclass(frozen=True, slots=True)
class PlanPublication:
    """What is published after the draw (一公开): enough for anyone to re-run it."""

    algorithm: str
    seed: str
    seed_commitment: str
    candidates_hash: str
    inspectors_hash: str
    ratios: Mapping[str, str]
    candidates: Sequence[tuple[str, str]]
    inspectors: Sequence[PoolInspector]
    assignments: Sequence[Assignment]
    details: Mapping[str, object] = field(default_factory=dict)


# ---- commitments -------------------------------------------------------------------------------


def seed_commitment(seed: bytes) -> str:
    """SHA-256 of the 32 seed bytes, lowercase hex."""
    return hashlib.sha256(seed).hexdigest()


def canonical_candidates(candidates: Iterable[tuple[str, str]]) -> str:
    """One line "USCC,category\\n" per candidate; the caller passes them sorted by USCC."""
    return "".join(f"{uscc},{category}\n" for uscc, category in candidates)


def candidates_of(canonical: str, categories: Iterable[str], chunk: int = 1 << 20) -> dict[str, list[str]]:
    """The USCCs of each given category in a canonical list, in the list's (sorted) order.

    The text is split a chunk of whole lines at a time: splitting a million lines at once would hold
    a million line strings beside the result (about 80 MiB more at the peak)."""
    found: dict[str, list[str]] = {c: [] for c in categories}
    start, size = 0, len(canonical)
    while start < size:
        end = canonical.rfind("\n", start, start + chunk) + 1
        if end <= start:  # no line break in the window: a longer line, or the last one
            end = canonical.find("\n", start + chunk) + 1 or size
        for line in canonical[start:end].split("\n"):
            uscc, _, category = line.partition(",")
            bucket = found.get(category)
            if bucket is not None:
                bucket.append(uscc)
        start = end
    return found


def text_hash(canonical: str) -> str:
    """SHA-256 of the UTF-8 text, lowercase hex."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def candidates_hash(candidates: Iterable[tuple[str, str]]) -> str:
    return text_hash(canonical_candidates(candidates))


def canonical_inspectors(inspectors: Iterable[PoolInspector]) -> str:
    """One line "id,USCC;USCC…\\n" per inspector sorted by id, its conflicts sorted (names excluded)."""
    ordered = sorted(inspectors, key=lambda i: i.id)
    return "".join(f"{i.id},{';'.join(sorted(i.conflicts))}\n" for i in ordered)


def inspectors_hash(inspectors: Iterable[PoolInspector]) -> str:
    return text_hash(canonical_inspectors(inspectors))


# ---- randomness --------------------------------------------------------------------------------


class _HmacSha256:
    """HMAC-SHA256 under one key (RFC 2104) with the key's two padded blocks hashed once, not per
    message: a draw computes hundreds of thousands of HMACs under the same seed, and this is about
    three times faster than `hmac.digest` per call. Same output (tests/inspections check it)."""

    _BLOCK = 64

    def __init__(self, key: bytes) -> None:
        if len(key) > self._BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(self._BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class Randomness:
    """The draw's uniform integers under one seed (see `uniform`)."""

    def __init__(self, seed: bytes) -> None:
        self._mac = _HmacSha256(seed)
        self._limits: dict[int, int] = {}

    def uniform(self, label: str, m: int) -> int:
        """An exactly uniform integer in [0, m) from HMAC-SHA256(seed, label + "|" + counter).

        Rejection sampling: the 256-bit big-endian value x is accepted when x < 2^256 - (2^256 mod m),
        then reduced mod m; otherwise the counter goes up (a rejection has probability < m / 2^256).
        """
        if m < 1:
            raise ValueError("m must be at least 1")
        if m == 1:
            return 0
        limit = self._limits.get(m)
        if limit is None:
            limit = self._limits[m] = _SPACE - _SPACE % m
        counter = 0
        while True:
            value = int.from_bytes(self._mac.digest(f"{label}|{counter}".encode()), "big")
            if value < limit:
                return value % m
            counter += 1


def uniform(seed: bytes, label: str, m: int) -> int:
    """U(label, m) of ALGORITHM.md for one call; a draw keeps one `Randomness` for all of its calls."""
    return Randomness(seed).uniform(label, m)


def sample_size(ratio: Decimal, n: int) -> int:
    """ceil(ratio × n), in exact decimal arithmetic, never more than n."""
    return min(n, math.ceil(ratio * n))


def select(seed: bytes, category: str, usccs: Sequence[str], ratio: Decimal) -> list[str]:
    """The drawn entities of one category: a partial Fisher–Yates shuffle of the sorted list.

    For i = 0 … k-1: j = i + uniform(seed, "entity|<category>|<i>", n - i); swap L[i] and L[j].
    The first k are drawn. When k = n every entity is drawn and no randomness is used.
    """
    ordered = sorted(usccs)
    k = sample_size(ratio, len(ordered))
    if k >= len(ordered):
        return ordered
    n = len(ordered)
    randomness = Randomness(seed)
    for i in range(k):
        j = i + randomness.uniform(f"entity|{category}|{i}", n - i)
        ordered[i], ordered[j] = ordered[j], ordered[i]
    return ordered[:k]


# ---- assignment --------------------------------------------------------------------------------


class _Loads:
    """Inspectors grouped by how many entities they were given so far, each group sorted by id."""

    def __init__(self, ids: Sequence[str]) -> None:
        self.load = dict.fromkeys(ids, 0)
        self.groups: dict[int, list[str]] = {0: sorted(ids)} if ids else {}
        self.levels = sorted(self.groups)  # the loads present, ascending

    def pick(self, excluded: set[str], randomness: Randomness, label: str) -> str:
        """G = the inspectors not excluded with the fewest assignments, sorted by id; returns
        G[uniform(label, |G|)] and counts the assignment. G is never built: the few excluded
        members of the group are skipped by position, so a pick costs O(|excluded| log n), not O(n)."""
        for level in self.levels:
            group = self.groups[level]
            skipped = _positions(group, excluded) if excluded else ()
            size = len(group) - len(skipped)
            if size > 0:
                index = randomness.uniform(label, size)
                for at in skipped:
                    if at <= index:
                        index += 1
                chosen = group[index]
                self._add_one(chosen)
                return chosen
        raise AssertionError("no eligible inspector left")  # assign() checks eligibility first

    def _add_one(self, inspector: str) -> None:
        level = self.load[inspector]
        group = self.groups[level]
        del group[bisect.bisect_left(group, inspector)]
        if not group:
            del self.groups[level]
            self.levels.remove(level)
        self.load[inspector] = level + 1
        above = self.groups.get(level + 1)
        if above is None:
            self.groups[level + 1] = [inspector]
            bisect.insort(self.levels, level + 1)
        else:
            bisect.insort(above, inspector)


def _positions(group: list[str], inspectors: set[str]) -> list[int]:
    """The sorted positions in `group` of those of `inspectors` that are in it."""
    found = []
    for inspector in inspectors:
        at = bisect.bisect_left(group, inspector)
        if at < len(group) and group[at] == inspector:
            found.append(at)
    found.sort()
    return found


def assign(
    seed: bytes, drawn: Sequence[tuple[str, str]], inspectors: Sequence[PoolInspector]
) -> list[Assignment]:
    """Two distinct inspectors per drawn entity, in USCC order, balancing the load.

    For each pick p in ("1", "2"): among the inspectors without a conflict with the entity and not
    already picked for it, take those with the fewest assignments so far (sorted by id), and choose
    index uniform(seed, "inspector|<USCC>|<p>", size of that group).
    """
    ids = [i.id for i in inspectors]
    conflicted: dict[str, set[str]] = {}
    for inspector in inspectors:
        for uscc in inspector.conflicts:
            conflicted.setdefault(uscc, set()).add(inspector.id)
    for uscc, _ in drawn:
        eligible = len(ids) - len(conflicted.get(uscc, ()))
        if eligible < 2:
            raise TooFewInspectors(uscc, eligible)
    loads = _Loads(ids)
    randomness = Randomness(seed)
    result = []
    for uscc, category in sorted(drawn):
        excluded = set(conflicted.get(uscc, ()))
        first = loads.pick(excluded, randomness, f"inspector|{uscc}|1")
        excluded.add(first)
        second = loads.pick(excluded, randomness, f"inspector|{uscc}|2")
        result.append(Assignment(uscc, category, (first, second)))
    return result


def compute(
    seed: bytes,
    by_category: Mapping[str, Sequence[str]],
    ratios: Mapping[str, Decimal],
    inspectors: Sequence[PoolInspector],
) -> list[Assignment]:
    """The whole draw from the frozen lists: select per category, then assign (sorted by USCC)."""
    drawn: list[tuple[str, str]] = []
    for category in CATEGORIES:
        usccs = by_category.get(category, ())
        ratio = ratios.get(category, Decimal(0))
        if usccs and ratio > 0:
            drawn.extend((uscc, category) for uscc in select(seed, category, usccs, ratio))
    drawn.sort()
    return assign(seed, drawn, sorted(inspectors, key=lambda i: i.id))


def recompute(published: PlanPublication) -> list[Assignment]:
    """Re-run the draw from a publication alone."""
    by_category: dict[str, list[str]] = {}
    for uscc, category in published.candidates:
        by_category.setdefault(category, []).append(uscc)
    ratios = {category: Decimal(value) for category, value in published.ratios.items()}
    return compute(bytes.fromhex(published.seed), by_category, ratios, published.inspectors)
