"""GraphQL types of the access log (访问记录 / 查询记录)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from schema.records.types import PageInfo


@strawberry.type(description="One read of the entity's non-public data (查询记录): when, who, why, what.")
class AccessLogEntry:
    id: strawberry.ID = strawberry.field(description="The entry's id (what `accessReceipt` takes).")
    at: dt.datetime = strawberry.field(description="When the data was read (查询时间), UTC.")
    reader_role: str = strawberry.field(description="The reader's role: bank, association, department…")
    reader_organisation: str | None = strawberry.field(
        description="The reader's organisation code (查询机构统一社会信用代码)."
    )
    purpose: str | None = strawberry.field(description="The purpose of the read (查询用途).")
    legal_basis: str | None = strawberry.field(description="The legal basis of the read (法定依据).")
    authorisation: str | None = strawberry.field(
        description="The authorisation (授权) the read was made under, if any."
    )
    tier: str | None = strawberry.field(
        description="How deep: the authorisation's field tier (masked/full), or `role` (the reader's own rights)."
    )
    fields: list[str] = strawberry.field(
        description="The non-public fields that left unmasked, e.g. `record.admin_penalty.amount`."
    )
    hidden_until: dt.date | None = strawberry.field(
        description="Reads the law lets the hub disclose later: shown to the entity from this day (暂缓告知)."
    )
    request_id: str | None = strawberry.field(description="The request's id in the hub's logs.")

    @classmethod
    def of(cls, row: Any) -> AccessLogEntry:
        return cls(
            id=strawberry.ID(str(row.id)),
            at=row.at,
            reader_role=row.caller_role,
            reader_organisation=row.caller_organisation,
            purpose=row.purpose,
            legal_basis=row.legal_basis,
            authorisation=row.authorisation,
            tier=row.tier,
            fields=list(row.fields or ()),
            hidden_until=row.hidden_until,
            request_id=row.request_id,
        )


@strawberry.type(description="An entry of the access log and its place in the list.")
class AccessLogEdge:
    node: AccessLogEntry = strawberry.field(description="The entry.")
    cursor: str = strawberry.field(description="Pass as `after` for the entries after this one.")


@strawberry.type(description="A page of the access log, newest first.")
class AccessLogConnection:
    edges: list[AccessLogEdge] = strawberry.field(description="The entries of this page.")
    page_info: PageInfo = strawberry.field(description="Whether more follow, and from where.")


@strawberry.type(
    description="Proof that the hub logged a read (查询凭证): the entry, its leaf in the access log's "
    "Merkle tree (RFC 6962), the inclusion proof and a signed checkpoint covering it (C2SP signed note). "
    "Verify it offline with `accessLogKey.noteVerifierKey`."
)
class AccessReceipt:
    entry: JSON = strawberry.field(
        description="The entry as logged; its canonical JSON (RFC 8785) is the leaf's data."
    )
    response_sha256: str | None = strawberry.field(
        description="Hex SHA-256 of the response's `data` as canonical JSON: compare it with what you received."
    )
    leaf_index: int = strawberry.field(description="The entry's leaf index (0-based).")
    tree_size: int = strawberry.field(description="The size of the tree the checkpoint signs.")
    inclusion_proof: list[str] = strawberry.field(
        description="The inclusion proof (RFC 9162 §2.1.3), base64 hashes, leaf first; at most ⌈log₂ treeSize⌉."
    )
    checkpoint: str = strawberry.field(
        description="The signed checkpoint (C2SP tlog-checkpoint, signed note)."
    )
    receipt: str = strawberry.field(
        description="All of the above as one JSON document, to store and verify offline as it is."
    )

    @classmethod
    def of(cls, found: Any) -> AccessReceipt:
        return cls(
            entry=cast(JSON, found.entry),
            response_sha256=found.entry.get("responseSha256"),
            leaf_index=found.leaf_index,
            tree_size=found.tree_size,
            inclusion_proof=[base64.b64encode(p).decode() for p in found.proof],
            checkpoint=found.checkpoint,
            receipt=found.to_json().decode(),
        )


@strawberry.type(description="The public key the access log's checkpoints are signed with (Ed25519).")
class AccessLogKey:
    origin: str = strawberry.field(description="The log's name: the checkpoints' first line.")
    note_verifier_key: str = strawberry.field(
        description="The signed-note verifier key (`<name>+<hash>+<key>`, golang.org/x/mod/sumdb/note)."
    )
    jwks: JSON = strawberry.field(description="The same key as a JWK Set (RFC 7517, RFC 8037).")
