"""chub-draw-v1 as a pure function: the published test vector, an independent re-implementation of
ALGORITHM.md, and the properties the draw promises."""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import Counter
from decimal import Decimal

import pytest

from hub.inspections import draw

SEED = bytes(range(32))
VECTOR_CANDIDATES = [
    (f"91230102MA0000{i:03d}X", c)
    for i, c in enumerate(["trustworthy"] * 6 + ["minor"] * 5 + ["general"] * 3 + ["serious"] * 2)
]
VECTOR_INSPECTORS = [
    draw.PoolInspector("A1", "甲"),
    draw.PoolInspector("B2", "乙", ("91230102MA0000014X",)),
    draw.PoolInspector("C3", "丙"),
]
VECTOR_RATIOS = {"trustworthy": "0.2", "minor": "0.4", "general": "0.5", "serious": "1"}
VECTOR_ASSIGNMENTS = [
    ("91230102MA0000003X", "trustworthy", ("B2", "A1")),
    ("91230102MA0000004X", "trustworthy", ("C3", "A1")),
    ("91230102MA0000008X", "minor", ("B2", "C3")),
    ("91230102MA0000010X", "minor", ("C3", "A1")),
    ("91230102MA0000012X", "general", ("B2", "A1")),
    ("91230102MA0000013X", "general", ("B2", "C3")),
    ("91230102MA0000014X", "serious", ("A1", "C3")),
    ("91230102MA0000015X", "serious", ("B2", "C3")),
]


# ---- an independent implementation, written from ALGORITHM.md only -----------------------------


def _u(seed: bytes, label: str, m: int) -> int:
    counter = 0
    while True:
        x = int.from_bytes(hmac.new(seed, f"{label}|{counter}".encode(), hashlib.sha256).digest(), "big")
        if x < 2**256 - (2**256 % m):
            return x % m
        counter += 1


def _reference(seed, candidates, inspectors, ratios):
    drawn = []
    for category in ("trustworthy", "minor", "general", "serious"):
        pool = sorted(u for u, c in candidates if c == category)
        n = len(pool)
        k = min(n, math.ceil(Decimal(ratios[category]) * n))
        if k == n:
            drawn += [(u, category) for u in pool]
            continue
        for i in range(k):
            j = i + _u(seed, f"entity|{category}|{i}", n - i)
            pool[i], pool[j] = pool[j], pool[i]
        drawn += [(u, category) for u in pool[:k]]
    load = {i.id: 0 for i in inspectors}
    out = []
    for uscc, category in sorted(drawn):
        picked = []
        for p in ("1", "2"):
            eligible = [i.id for i in inspectors if uscc not in i.conflicts and i.id not in picked]
            low = min(load[i] for i in eligible)
            group = sorted(i for i in eligible if load[i] == low)
            choice = group[_u(seed, f"inspector|{uscc}|{p}", len(group))]
            picked.append(choice)
            load[choice] += 1
        out.append((uscc, category, tuple(picked)))
    return out


def _run(seed, candidates, inspectors, ratios):
    by_category: dict[str, list[str]] = {}
    for uscc, category in candidates:
        by_category.setdefault(category, []).append(uscc)
    decimals = {c: Decimal(r) for c, r in ratios.items()}
    return [(a.uscc, a.category, a.inspectors) for a in draw.compute(seed, by_category, decimals, inspectors)]


# ---- tests -------------------------------------------------------------------------------------


def test_the_published_test_vector() -> None:
    assert draw.seed_commitment(SEED) == "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
    assert draw.candidates_hash(VECTOR_CANDIDATES) == (
        "8c257412b0ba63fd23a17d8f9e796cf53e485aa6533101c164d0e968b234ddb5"
    )
    assert draw.inspectors_hash(VECTOR_INSPECTORS) == (
        "6559cb8ced4711578e2b63af0cdc85ebeaace4b5d54c1fc0c9b5e78018dcca04"
    )
    assert _run(SEED, VECTOR_CANDIDATES, VECTOR_INSPECTORS, VECTOR_RATIOS) == VECTOR_ASSIGNMENTS
    assert _reference(SEED, VECTOR_CANDIDATES, VECTOR_INSPECTORS, VECTOR_RATIOS) == VECTOR_ASSIGNMENTS


def test_canonical_texts_are_exactly_as_documented() -> None:
    assert draw.canonical_candidates([("A", "minor"), ("B", "serious")]) == "A,minor\nB,serious\n"
    inspectors = [draw.PoolInspector("Z9", "x", ("U2", "U1")), draw.PoolInspector("A1", "y")]
    assert draw.canonical_inspectors(inspectors) == "A1,\nZ9,U1;U2\n"
    assert draw.inspectors_hash(inspectors) == hashlib.sha256(b"A1,\nZ9,U1;U2\n").hexdigest()


@pytest.mark.parametrize("seed_byte", [1, 2, 3, 4, 5])
def test_the_code_agrees_with_the_written_algorithm(seed_byte: int) -> None:
    seed = bytes([seed_byte]) * 32
    candidates = [(f"U{i:05d}", ("trustworthy", "minor", "general", "serious")[i % 4]) for i in range(400)]
    inspectors = [
        draw.PoolInspector(f"I{i:02d}", "n", tuple(f"U{j:05d}" for j in range(i, 400, 37))) for i in range(7)
    ]
    ratios = {"trustworthy": "0.03", "minor": "0.2", "general": "0.45", "serious": "1"}
    assert _run(seed, candidates, inspectors, ratios) == _reference(seed, candidates, inspectors, ratios)


def test_sample_sizes_are_exact_decimal_ceilings() -> None:
    # 0.1 × 30 is 3.0000000000000004 in floating point; in decimal it is 3.
    assert draw.sample_size(Decimal("0.1"), 30) == 3
    assert draw.sample_size(Decimal("0.21"), 6) == 2
    assert draw.sample_size(Decimal("0"), 1000) == 0
    assert draw.sample_size(Decimal("1"), 7) == 7


def test_selection_draws_k_distinct_candidates_and_depends_on_the_seed() -> None:
    usccs = [f"U{i:04d}" for i in range(1000)]
    first = draw.select(b"\x01" * 32, "minor", usccs, Decimal("0.05"))
    assert len(first) == len(set(first)) == 50 and set(first) <= set(usccs)
    assert draw.select(b"\x01" * 32, "minor", list(reversed(usccs)), Decimal("0.05")) == first
    assert draw.select(b"\x02" * 32, "minor", usccs, Decimal("0.05")) != first
    assert draw.select(b"\x01" * 32, "general", usccs, Decimal("0.05")) != first


def test_selection_is_even_across_the_list() -> None:
    """Over many seeds each position is drawn about equally often (no bias to the front or back)."""
    usccs = [f"U{i:02d}" for i in range(20)]
    hits: Counter[str] = Counter()
    for s in range(2000):
        hits.update(draw.select(s.to_bytes(32, "big"), "minor", usccs, Decimal("0.25")))
    expected = 2000 * 5 / 20
    assert all(abs(hits[u] - expected) < 0.2 * expected for u in usccs), hits


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
def test_the_precomputed_hmac_is_rfc_2104_hmac_sha256(key_length: int) -> None:
    key = bytes((7 * i + 3) % 256 for i in range(key_length))
    mac = draw._HmacSha256(key)
    for message in (b"", b"entity|minor|0|0", b"inspector|91230102MA0000001X|2|0" * 9):
        assert mac.digest(message) == hmac.digest(key, message, "sha256")


def test_uniform_stays_in_range_and_covers_it() -> None:
    values = Counter(draw.uniform(SEED, f"t|{i}", 7) for i in range(7000))
    assert set(values) == set(range(7))
    assert all(800 < v < 1200 for v in values.values()), values
    assert draw.uniform(SEED, "anything", 1) == 0


def test_two_distinct_inspectors_without_conflicts_and_balanced_load() -> None:
    drawn = [(f"U{i:04d}", "minor") for i in range(301)]
    inspectors = [draw.PoolInspector(f"I{i}", "n", (f"U{i:04d}", f"U{i + 50:04d}")) for i in range(6)]
    assignments = draw.assign(SEED, drawn, inspectors)
    assert [a.uscc for a in assignments] == sorted(u for u, _ in drawn)
    conflicts = {(i.id, u) for i in inspectors for u in i.conflicts}
    for a in assignments:
        first, second = a.inspectors
        assert first != second
        assert (first, a.uscc) not in conflicts and (second, a.uscc) not in conflicts
    load = Counter(i for a in assignments for i in a.inspectors)
    assert max(load.values()) - min(load.values()) <= 1


def test_too_few_eligible_inspectors_is_refused() -> None:
    inspectors = [draw.PoolInspector("A", "n", ("U1",)), draw.PoolInspector("B", "n")]
    with pytest.raises(draw.TooFewInspectors) as raised:
        draw.assign(SEED, [("U0", "minor"), ("U1", "serious")], inspectors)
    assert raised.value.uscc == "U1" and raised.value.eligible == 1


@pytest.mark.parametrize("chunk", [1, 7, 20, 21, 64, 1 << 20])
def test_the_frozen_list_splits_the_same_whatever_the_chunk(chunk: int) -> None:
    categories = ["trustworthy", "minor", "general", "serious"]
    lines = [(f"91230102MA{i:07d}X", categories[(i * 7) % 4]) for i in range(50)]
    canonical = "".join(f"{u},{c}\n" for u, c in lines)
    expected = {c: [u for u, k in lines if k == c] for c in ("minor", "serious")}
    assert draw.candidates_of(canonical, ["minor", "serious"], chunk) == expected
    assert draw.candidates_of(canonical.rstrip("\n"), ["minor", "serious"], chunk) == expected
    assert draw.candidates_of("", ["minor"], chunk) == {"minor": []}
