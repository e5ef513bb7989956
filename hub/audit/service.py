"""The access log's rules: what other domains call to log, the sequencer, receipts, the entity's list,
verification and retention.

Ordering (why a sequencer): entries are appended by any hub process with a plain INSERT in the
request's own unit of work, so a read waits for nothing but its own commit. Leaf indices are given
afterwards, Trillian-style, by one sequencer at a time (a transaction-scoped advisory lock; any hub
process may run it): it takes the entries written since its horizon that have no leaf yet, numbers
them from the tree's size on, stores their leaf hashes and the complete-subtree hashes they finish,
and records its batch with a new horizon, the snapshot's xmin (every transaction below it has ended,
so no entry can appear there later). Indices are gap-free and ordered because only the lock holder
writes them, in one transaction. The alternative, a counter row locked by each writer (UPDATE …
RETURNING), also gives gap-free indices but serialises every logged read on one row lock until its
commit and puts the hashing into every request; tests/bench/access_log.py measures both. Measured
(2 cores, 8 writers): the counter was no faster (1,897 against 1,660 entries/s; 1,323 against 1,009
on a busier run) while queueing every writer on one row lock, and the sequencer kept up (every entry
integrated when the writers stopped), so the sequencer it is.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from hub.audit import merkle
from hub.audit import repository as repo
from hub.audit.entry import READ, entry_bytes, entry_json
from hub.audit.note import Checkpoint, Verifier, open_checkpoint, sign, verifier_key
from hub.audit.record import Read, Who, record_admin_change, record_read, record_reads
from hub.crypto import SigningKey, signing_key
from hub.errors import Invalid, NotFound
from hub.ports import KeyProvider
from hub.settings import Settings

# What other domains call lives in hub.audit.record; here too, for callers of the whole service.
__all__ = ["Read", "Who", "record_admin_change", "record_read", "record_reads"]

KEY_PURPOSE = "access-log"
DEFAULT_PAGE, MAX_PAGE = 1000, 10_000


# --- keys ----------------------------------------------------------------------------------------


def log_key(keys: KeyProvider) -> SigningKey:
    return signing_key(keys, KEY_PURPOSE)


def public_jwks(keys: KeyProvider) -> list[dict[str, str]]:
    """The JWK(s) of the access-log key, for the hub's JWKS (RFC 8037, with RFC 7638 kid)."""
    return [log_key(keys).jwk()]


def note_verifier_key(settings: Settings, keys: KeyProvider) -> str:
    """The signed-note verifier key of the checkpoints ("<origin>+<hash>+<base64 key>")."""
    return verifier_key(settings.access_log_origin, log_key(keys).public_bytes)


# --- the sequencer -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Integration:
    size: int
    added: int
    checkpoint: int | None  # the size of the checkpoint signed in this run, if any
    locked_out: bool = False  # another process held the sequencer's lock


async def integrate(
    session: AsyncSession, settings: Settings, keys: KeyProvider, *, limit: int | None = None
) -> Integration:
    """One sequencer run in the caller's unit of work: integrate the pending entries (up to `limit`)
    and sign a checkpoint when HUB_ACCESS_LOG_CHECKPOINT_ENTRIES or _SECONDS have passed."""
    if not await repo.try_lock(session):
        return Integration(0, 0, None, locked_out=True)
    size, horizon = await repo.last_batch(session)
    batch = limit or settings.access_log_batch
    rows, xmin = await repo.pending(session, horizon, batch)
    edge_nodes = merkle.Frontier.edge_nodes(size)
    stored = await repo.hashes(session, edge_nodes)
    frontier = merkle.Frontier(size, [(n, stored[n]) for n in edge_nodes])
    leaves: list[tuple[int, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    for row in rows:
        h = merkle.leaf_hash(entry_bytes(row))
        leaves.append((int(row.id), h))
        nodes.extend((level, i, nh) for (level, i), nh in frontier.append(h))
    if rows:
        # A full batch may have left entries below xmin behind: keep the old horizon until one is not.
        await repo.add_batch(
            session, size, leaves, nodes, horizon if len(rows) == batch else max(xmin, horizon)
        )
    signed = await _checkpoint(session, settings, keys, frontier)
    return Integration(frontier.size, len(rows), signed)


async def _checkpoint(
    session: AsyncSession, settings: Settings, keys: KeyProvider, frontier: merkle.Frontier
) -> int | None:
    if frontier.size == 0:
        return None
    last = await repo.last_checkpoint(session)
    if last is not None:
        if last.tree_size >= frontier.size:
            return None
        due = frontier.size - last.tree_size >= settings.access_log_checkpoint_entries
        elapsed = (await repo.now(session)) - last.signed_at
        if not due and elapsed.total_seconds() < settings.access_log_checkpoint_seconds:
            return None
    root = frontier.root()
    text = Checkpoint(settings.access_log_origin, frontier.size, root).text()
    await repo.add_checkpoint(
        session, frontier.size, root, sign(text, settings.access_log_origin, log_key(keys))
    )
    return frontier.size


# --- proofs and receipts -------------------------------------------------------------------------


async def _hashes_for(session: AsyncSession, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
    stored = await repo.hashes(session, merkle.nodes_needed(ranges))
    return merkle.hashes_of(ranges, stored.__getitem__)


async def inclusion_proof(session: AsyncSession, index: int, size: int) -> list[bytes]:
    return await _hashes_for(session, merkle.inclusion_ranges(index, size))


async def consistency_proof(session: AsyncSession, size1: int, size2: int) -> list[bytes]:
    return await _hashes_for(session, merkle.consistency_ranges(size1, size2))


@dataclass(frozen=True, slots=True)
class Receipt:
    """Proof of a logged read: the entry, its leaf, the inclusion proof and a checkpoint covering it."""

    entry: dict[str, Any]
    leaf_index: int
    tree_size: int
    proof: list[bytes]
    checkpoint: str

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "entry": self.entry,
                "leafIndex": self.leaf_index,
                "treeSize": self.tree_size,
                "inclusionProof": [base64.b64encode(p).decode() for p in self.proof],
                "checkpoint": self.checkpoint,
            }
        )


def may_see_entry(who: Who, entry: Any) -> bool:
    """The reader who caused the entry, the entity it is about (when not hidden), the credit office."""
    if who.role == "credit_office":
        return True
    if who.organisation is not None and who.organisation == entry.caller_organisation:
        return True
    return who.role == "entity" and who.organisation == entry.uscc and entry.kind == READ


async def receipt(session: AsyncSession, who: Who, entry_id: int, today: dt.date) -> Receipt | None:
    """The receipt of entry `entry_id`, or None while it waits for the sequencer or a checkpoint."""
    found = await repo.entry(session, entry_id)
    if found is None or not may_see_entry(who, found) or _hidden_from(who, found, today):
        raise NotFound("no such access-log entry", code="ACCESS_ENTRY_NOT_FOUND", path="entry")
    index = await repo.leaf_of(session, entry_id)
    last = await repo.last_checkpoint(session)
    if index is None or last is None or last.tree_size <= index:
        return None
    proof = await inclusion_proof(session, index, last.tree_size)
    return Receipt(entry_json(found), index, int(last.tree_size), proof, last.note)


def _hidden_from(who: Who, entry: Any, today: dt.date) -> bool:
    return (
        who.role == "entity"
        and who.organisation == entry.uscc
        and who.organisation != entry.caller_organisation
        and entry.hidden_until is not None
        and entry.hidden_until > today
    )


# --- the entity's list ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: list[Any]
    has_next: bool


def page_size(first: int | None) -> int:
    size = DEFAULT_PAGE if first is None else first
    if not 1 <= size <= MAX_PAGE:
        raise Invalid(f"first is 1 to {MAX_PAGE}", code="PAGE_SIZE", path="first")
    return size


async def reads_of(
    session: AsyncSession, who: Who, uscc: str, *, first: int | None, before: int | None, today: dt.date
) -> EntryPage:
    """Who read the entity's data, newest first. An entity sees its own list, without the reads the
    law lets the hub disclose later (hiddenUntil) until that day; the credit office any entity's."""
    size = page_size(first)
    visible_on = None if who.role == "credit_office" else today
    rows = await repo.reads_of(session, uscc, before=before, visible_on=visible_on, limit=size + 1)
    return EntryPage(rows[:size], len(rows) > size)


# --- verification --------------------------------------------------------------------------------


@dataclass
class Verification:
    size: int = 0
    checkpoints: int = 0
    purged_below: int = 0
    first_bad_index: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    # Leaf indices found wrong, and ranges [start, end) a failing checkpoint says hold a fault.
    _found: list[int] = field(default_factory=list, repr=False)
    _ranges: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def bad(self, index: int, problem: str) -> None:
        self._found.append(index)
        self.note(problem)

    def bad_between(self, start: int, end: int, problem: str) -> None:
        """A fault somewhere in [start, end): the first index of the range unless a leaf or a subtree
        in it was found wrong itself."""
        self._ranges.append((start, end))
        self.note(problem)

    def note(self, problem: str) -> None:
        if len(self.problems) < 100:
            self.problems.append(problem)

    def settle(self) -> None:
        candidates = list(self._found)
        for start, end in self._ranges:
            if not any(start <= i < end for i in self._found):
                candidates.append(start)
        self.first_bad_index = min(candidates) if candidates else None


async def verify(session: AsyncSession, settings: Settings, keys: KeyProvider) -> Verification:
    """Recompute the whole tree from the entries and hold it against every stored checkpoint (their
    signatures included) and the stored leaf hashes. Entries purged by retention count by their kept
    leaf hash. Reports the first leaf index at which the log stops being what was signed."""
    report = Verification()
    verifier = Verifier.parse(note_verifier_key(settings, keys))
    stored_checkpoints = await repo.checkpoints(session)
    report.checkpoints = len(stored_checkpoints)
    report.purged_below = purged = await repo.purge_horizon(session)
    due = iter(stored_checkpoints)
    pending = next(due, None)
    good_size = 0  # the largest checkpointed size that verified
    frontier = merkle.Frontier()
    expected = 0
    append, leaf_hash = frontier.append, merkle.leaf_hash

    def check(cp: Any) -> None:
        nonlocal good_size
        try:
            signed = open_checkpoint(cp.note, verifier, settings.access_log_origin)
        except ValueError as exc:
            report.bad_between(good_size, cp.tree_size, f"checkpoint {cp.tree_size}: {exc}")
            return
        if signed.size != cp.tree_size or signed.root != bytes(cp.root_hash):
            report.bad_between(
                good_size, cp.tree_size, f"checkpoint {cp.tree_size}: its columns differ from its note"
            )
        if frontier.root() != signed.root:
            report.bad_between(
                good_size, cp.tree_size, f"checkpoint {cp.tree_size}: the entries no longer give its root"
            )
        else:
            good_size = cp.tree_size

    page = 20_000
    wrong: set[merkle.Node] = set()
    wrong_leaves: set[int] = set()
    while True:
        rows = await repo.leaves_page(session, expected, page)
        if not rows:
            break
        first = expected
        completed: list[tuple[merkle.Node, bytes]] = []
        for row in rows:
            index = row["leaf_index"]
            if index != expected:
                report.bad(expected, f"leaves {expected}..{index - 1} are missing")
                return _finish(report, frontier)  # no tree to hold the checkpoints against past a gap
            if row["id"] is None:
                if index >= purged:
                    wrong_leaves.add(index)
                    report.bad(index, f"leaf {index}: its entry {row['entry_id']} is gone")
                h = bytes(row["leaf_hash"])
            else:
                h = leaf_hash(entry_bytes(row))
                if row["id"] != row["entry_id"] or h != row["leaf_hash"]:
                    wrong_leaves.add(index)
                    report.bad(index, f"leaf {index}: entry {row['entry_id']} is not what was integrated")
            completed.extend(append(h))
            expected += 1
            while pending is not None and pending.tree_size == frontier.size:
                check(pending)
                pending = next(due, None)
        stored = await repo.nodes_ending(session, first, expected)
        for node, h in completed:
            if stored.pop(node, None) != h:
                # The stored subtree hash (what proofs are made of) differs from the entries' one: the
                # fault lies in the lowest such subtree (its parents differ because it does).
                wrong.add(node)
                level, i = node
                below = (
                    {2 * i, 2 * i + 1} & wrong_leaves
                    if level == 1
                    else {(level - 1, 2 * i), (level - 1, 2 * i + 1)} & wrong
                )
                if not below:
                    report.bad(i << level, f"node {node}: not the hash of the leaves below it")
                else:
                    report.note(f"node {node}: not the hash of the leaves below it")
        if stored:
            report.bad(first, f"nodes {sorted(stored)[:5]} do not belong to the tree")
    while pending is not None:
        report.bad(frontier.size, f"checkpoint {pending.tree_size}: the log has only {frontier.size} leaves")
        pending = next(due, None)
    _, horizon = await repo.last_batch(session)
    lost = await repo.unintegrated_before(session, horizon)
    if lost:
        report.note(f"entries written before the last batch but never integrated: {lost[:10]}")
    return _finish(report, frontier)


def _finish(report: Verification, frontier: merkle.Frontier) -> Verification:
    report.size = frontier.size
    report.settle()
    return report


async def verify_checkpoint(session: AsyncSession, settings: Settings, keys: KeyProvider, note: str) -> bool:
    """Whether a checkpoint held outside the hub (a bank's receipt, a witness) is consistent with the
    log now: signed by the hub and a prefix of the current tree (a consistency proof)."""
    signed = open_checkpoint(
        note, Verifier.parse(note_verifier_key(settings, keys)), settings.access_log_origin
    )
    last = await repo.last_checkpoint(session)
    if last is None or last.tree_size < signed.size:
        return False
    if signed.size == 0:
        return True
    proof = await consistency_proof(session, signed.size, int(last.tree_size))
    return merkle.consistency_valid(
        signed.size, int(last.tree_size), proof, signed.root, bytes(last.root_hash)
    )


# --- retention -----------------------------------------------------------------------------------


async def purge(session: AsyncSession, settings: Settings, now: dt.datetime) -> tuple[int, int]:
    """Delete the details of entries older than HUB_ACCESS_LOG_RETENTION_DAYS (as the owner role: the
    server may not delete). Their leaf hashes stay, so the tree and every checkpoint still verify.
    Returns (leaves below which entries are purged, entries deleted)."""
    cutoff = now - dt.timedelta(days=settings.access_log_retention_days)
    return await repo.purge_before(session, cutoff)
