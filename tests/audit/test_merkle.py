"""The Merkle code against published vectors: the RFC 6962 test vectors of Certificate Transparency
(as transparency-dev/merkle's proof/verify_test.go carries them): eight leaves, the roots of the
trees of 1..8 of them, inclusion and consistency proofs."""

from __future__ import annotations

import math

import pytest

from hub.audit import merkle

LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
# (leaf index, tree size, proof): the vectors' 1-based leaf numbers made 0-based.
INCLUSION = [
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (0, 1, []),
]
CONSISTENCY = [
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (1, 1, []),
]


def _lookup(leaves: list[bytes]) -> merkle.Lookup:
    """Node hashes of an in-memory tree, each computed from its leaves by the RFC's definition."""
    hashes = [merkle.leaf_hash(d) for d in leaves]

    def mth(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return hashes[lo]
        k = 1
        while k * 2 < hi - lo:
            k *= 2
        return merkle.node_hash(mth(lo, lo + k), mth(lo + k, hi))

    return lambda node: mth(node[1] << node[0], (node[1] + 1) << node[0])


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_of_the_vectors(size: int) -> None:
    assert merkle.root_of(merkle.leaf_hash(d) for d in LEAVES[:size]) == ROOTS[size - 1]
    assert merkle.range_hash(0, size, _lookup(LEAVES[:size])) == ROOTS[size - 1]


def test_the_empty_tree() -> None:
    assert merkle.root_of([]).hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_are_the_vectors_and_verify(index: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(p) for p in proof]
    ranges = merkle.inclusion_ranges(index, size)
    assert merkle.hashes_of(ranges, _lookup(LEAVES[:size])) == expected
    assert len(expected) <= math.ceil(math.log2(size)) if size > 1 else not expected
    leaf = merkle.leaf_hash(LEAVES[index])
    assert merkle.inclusion_valid(index, size, leaf, expected, ROOTS[size - 1])


@pytest.mark.parametrize(("index", "size", "proof"), [v for v in INCLUSION if v[2]])
def test_corrupted_inclusion_proofs_fail(index: int, size: int, proof: list[str]) -> None:
    good = [bytes.fromhex(p) for p in proof]
    leaf, root = merkle.leaf_hash(LEAVES[index]), ROOTS[size - 1]
    flipped = [bytes([good[0][0] ^ 8]) + good[0][1:], *good[1:]]
    for args in [
        (index ^ 1, size, leaf, good, root),
        (index, size * 2, leaf, good, root),
        (index, size, merkle.leaf_hash(b"wrong"), good, root),
        (index, size, leaf, good, merkle.EMPTY_ROOT),
        (index, size, leaf, [*good, root], root),
        (index, size, leaf, [root, *good], root),
        (index, size, leaf, good[:-1], root),
        (index, size, leaf, flipped, root),
        (size, size, leaf, good, root),
    ]:
        assert not merkle.inclusion_valid(*args), args


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_consistency_proofs_are_the_vectors_and_verify(size1: int, size2: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(p) for p in proof]
    ranges = merkle.consistency_ranges(size1, size2)
    assert merkle.hashes_of(ranges, _lookup(LEAVES[:size2])) == expected
    assert len(expected) <= math.ceil(math.log2(size2))
    assert merkle.consistency_valid(size1, size2, expected, ROOTS[size1 - 1], ROOTS[size2 - 1])


@pytest.mark.parametrize(("size1", "size2", "proof"), [v for v in CONSISTENCY if v[2]])
def test_corrupted_consistency_proofs_fail(size1: int, size2: int, proof: list[str]) -> None:
    good = [bytes.fromhex(p) for p in proof]
    r1, r2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
    flipped = [bytes([good[-1][0] ^ 16]) + good[-1][1:]]
    for args in [
        (size1 - 1 or 2, size2, good, r1, r2),
        (size1 + 1, size2, good, r1, r2),
        (size1, size2 * 2, good, r1, r2),
        (size1, size2, good, r2, r1),
        (size1, size2, good, merkle.EMPTY_ROOT, r2),
        (size1, size2, [], r1, r2),
        (size1, size2, [*good, r1], r1, r2),
        (size1, size2, [r2, *good], r1, r2),
        (size1, size2, good[:-1], r1, r2),
        (size1, size2, good[:-1] + flipped, r1, r2),
    ]:
        assert not merkle.consistency_valid(*args), args


def test_the_frontier_stores_every_complete_subtree_once() -> None:
    frontier = merkle.Frontier()
    stored: dict[tuple[int, int], bytes] = {}
    lookup = _lookup(LEAVES)
    for n, d in enumerate(LEAVES):
        stored[(0, n)] = merkle.leaf_hash(d)
        for node, h in frontier.append(merkle.leaf_hash(d)):
            assert node not in stored
            stored[node] = h
        assert frontier.root() == ROOTS[n]
    assert stored == {node: lookup(node) for node in stored}
    assert len(stored) == 8 + 4 + 2 + 1
