"""The receipt verifier a bank runs offline: no database, no hub, only the receipt's bytes and the
hub's signed-note verifier key (`accessLogKey.noteVerifierKey`, or the JWKS's access-log key).

A receipt is a JSON object:

    {"entry": {...the entry, see hub.audit.entry...}, "leafIndex": 41, "treeSize": 1000,
     "inclusionProof": ["<base64 hash>", ...], "checkpoint": "<signed note>"}

It proves that the hub logged `entry` as leaf `leafIndex` of the tree whose root the checkpoint signs.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from hub.audit import merkle
from hub.audit.entry import canonical
from hub.audit.note import NoteError, Verifier, open_checkpoint


class ReceiptInvalid(ValueError):
    """A receipt that does not prove what it claims."""


def verify_receipt(receipt: bytes | str, vkey: str, origin: str | None = None) -> dict[str, Any]:
    """Check a receipt: the checkpoint's signature by `vkey` (and its origin, when given), and the
    entry's inclusion under the checkpoint's root. Returns the entry — compare its `responseSha256`
    with the SHA-256 of the response's `data` as canonical JSON; ReceiptInvalid when anything fails."""
    try:
        body = orjson.loads(receipt)
        entry, index, size = body["entry"], body["leafIndex"], body["treeSize"]
        proof = [base64.b64decode(p, validate=True) for p in body["inclusionProof"]]
        checkpoint = open_checkpoint(body["checkpoint"], Verifier.parse(vkey), origin)
    except (orjson.JSONDecodeError, KeyError, TypeError, binascii.Error, NoteError) as exc:
        raise ReceiptInvalid(f"not a valid receipt: {exc}") from None
    if not isinstance(entry, dict) or type(index) is not int or type(size) is not int:
        raise ReceiptInvalid("not a valid receipt: entry, leafIndex or treeSize of the wrong type")
    if checkpoint.size != size:
        raise ReceiptInvalid("the receipt's tree size is not its checkpoint's")
    if not merkle.inclusion_valid(index, size, merkle.leaf_hash(canonical(entry)), proof, checkpoint.root):
        raise ReceiptInvalid("the entry is not in the tree the checkpoint signs")
    return entry
