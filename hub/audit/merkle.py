"""The RFC 6962 / RFC 9162 Merkle tree of the access log: hashes, roots, proofs and their checks.

Pure functions, no database: the repository hands them the hashes of complete subtrees ("nodes"),
and the standalone receipt verifier uses the checks without the hub.

- leaf hash  = SHA-256(0x00 || entry bytes)
- node hash  = SHA-256(0x01 || left || right)
- MTH(D[n]) for n > 1 = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n.

A *node* (level, index) is the complete subtree of 2**level leaves starting at leaf index·2**level;
level 0 is a leaf. Any range [lo, hi) of a tree is the hash of O(log n) such nodes (`nodes_of`), so a
proof needs at most ~2·log2(n) stored hashes, never a recomputation over the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

Hash = bytes
Node = tuple[int, int]  # (level, index)

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> Hash:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: Hash, right: Hash) -> Hash:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _complete(lo: int, hi: int) -> Node | None:
    """The node that is exactly [lo, hi), if that range is a complete aligned subtree."""
    size = hi - lo
    if size & (size - 1) == 0 and lo % size == 0:
        level = size.bit_length() - 1
        return level, lo >> level
    return None


def nodes_of(lo: int, hi: int) -> list[Node]:
    """The complete subtrees whose hashes MTH(D[lo:hi]) is computed from (for lo, hi as the RFC's
    recursion reaches them: lo is always a multiple of a power of two at least hi - lo)."""
    node = _complete(lo, hi)
    if node is not None:
        return [node]
    k = _split(hi - lo)
    return [*nodes_of(lo, lo + k), *nodes_of(lo + k, hi)]


Lookup = Callable[[Node], Hash]


def range_hash(lo: int, hi: int, lookup: Lookup) -> Hash:
    """MTH(D[lo:hi]) from the nodes `lookup` gives."""
    node = _complete(lo, hi)
    if node is not None:
        return lookup(node)
    k = _split(hi - lo)
    return node_hash(range_hash(lo, lo + k, lookup), range_hash(lo + k, hi, lookup))


# --- proofs (RFC 9162 §2.1.3.1 and §2.1.4.1), as lists of ranges first, then hashes ------------------


def inclusion_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PATH(m, D[0:n]), leaf first (RFC 9162 §2.1.3.1)."""
    if not 0 <= m < n:
        raise ValueError("leaf index out of range")
    found: list[tuple[int, int]] = []
    lo, hi = 0, n
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < lo + k:
            found.append((lo + k, hi))
            hi = lo + k
        else:
            found.append((lo, lo + k))
            lo = lo + k
    return list(reversed(found))


def consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PROOF(m, D[0:n]) (RFC 9162 §2.1.4.1), for 0 < m <= n."""
    if not 0 < m <= n:
        raise ValueError("sizes out of range")
    found: list[tuple[int, int]] = []

    def subproof(m: int, lo: int, hi: int, whole: bool) -> None:
        if m == hi - lo:
            if not whole:
                found.append((lo, hi))
            return
        k = _split(hi - lo)
        if m <= k:
            subproof(m, lo, lo + k, whole)
            found.append((lo + k, hi))
        else:
            subproof(m - k, lo + k, hi, False)
            found.append((lo, lo + k))

    subproof(m, 0, n, True)
    return found


def nodes_needed(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    return {node for lo, hi in ranges for node in nodes_of(lo, hi)}


def hashes_of(ranges: Sequence[tuple[int, int]], lookup: Lookup) -> list[Hash]:
    return [range_hash(lo, hi, lookup) for lo, hi in ranges]


# --- checks (RFC 9162 §2.1.3.2 and §2.1.4.2): what a verifier runs, with no tree at hand ------------


def root_from_inclusion(index: int, size: int, leaf: Hash, proof: Sequence[Hash]) -> Hash | None:
    """The root an inclusion proof leads to, or None when the proof cannot be one for (index, size)."""
    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def inclusion_valid(index: int, size: int, leaf: Hash, proof: Sequence[Hash], root: Hash) -> bool:
    return len(leaf) == 32 and root_from_inclusion(index, size, leaf, proof) == root


def consistency_valid(size1: int, size2: int, proof: Sequence[Hash], root1: Hash, root2: Hash) -> bool:
    """Whether `proof` shows the tree of size2 with root2 extends the tree of size1 with root1."""
    if size1 < 0 or size2 < size1 or any(len(p) != 32 for p in proof):
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:  # size1 a power of two: its root is the first node
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == root1 and sr == root2


# --- building: the right edge of a growing tree (what the sequencer keeps) ---------------------------


class Frontier:
    """The complete subtrees on the right edge of a tree of `size` leaves, largest first: appending a
    leaf merges equal-sized neighbours and returns the nodes it completed (to be stored)."""

    def __init__(self, size: int = 0, edge: Sequence[tuple[Node, Hash]] = ()) -> None:
        self.size = size
        self.edge: list[tuple[Node, Hash]] = list(edge)

    @staticmethod
    def edge_nodes(size: int) -> list[Node]:
        """Which nodes make up the right edge of a tree of `size` leaves."""
        nodes: list[Node] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                nodes.append((level, start >> level))
                start += 1 << level
        return nodes

    def append(self, leaf: Hash) -> list[tuple[Node, Hash]]:
        completed: list[tuple[Node, Hash]] = []
        node, h = (0, self.size), leaf
        edge = self.edge
        while edge and edge[-1][0][0] == node[0]:
            (level, idx), left = edge.pop()
            h = node_hash(left, h)
            node = (level + 1, idx >> 1)
            completed.append((node, h))
        edge.append((node, h))
        self.size += 1
        return completed

    def root(self) -> Hash:
        if not self.edge:
            return EMPTY_ROOT
        r = self.edge[-1][1]
        for _, h in reversed(self.edge[:-1]):
            r = node_hash(h, r)
        return r


def root_of(leaves: Iterable[Hash]) -> Hash:
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()
