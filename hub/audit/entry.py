"""An access-log entry and its canonical bytes (the leaf's data), shared by the hub and the verifier.

The entry bytes are the UTF-8 JSON object of the fields below with keys sorted, no whitespace and
nothing escaped but what JSON must escape (`"`, `\\`, control characters); values are only strings,
integers, null and arrays of strings, for which this is RFC 8785 (JCS) canonical JSON, so any JCS
library reproduces the bytes from a receipt's `entry`:

    v              1, the version of this encoding
    id             the entry's id (what `extensions.access` and `accessReceipt` name)
    uscc           the entity read or changed ("" for a change about no entity)
    kind           "read" (non-public data left) or "admin" (an administrative change)
    action         "read", or what changed: "catalog.amended", "token.issued", …
    role, organisation, token        who: role, organisation code (USCC), token id
    fields         the non-public fields that left unmasked ("record.<type>.<field>", …), sorted
    tier           the authorisation's field tier ("masked" / "full"), or "role" (by role rules)
    purpose, authorisation, legalBasis, subject, requestId
    responseSha256 hex SHA-256 of the response's `data` as canonical JSON (never the data)
    hiddenUntil    "YYYY-MM-DD": the entity sees the read from that day (null: at once)
    at             time written, UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson

from hub.crypto import body_digest

ENCODING_VERSION = 1
READ, ADMIN = "read", "admin"


def timestamp(at: dt.datetime) -> str:
    """RFC 3339 in UTC with microseconds ("…T08:00:00.000000Z"), whatever the microseconds are."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The canonical bytes of an entry's JSON form (see the module's documentation)."""
    return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def entry_json(row: Any) -> dict[str, Any]:
    """The JSON form of a stored entry: an ORM AccessLogEntry, a row with the same columns as
    attributes, or a record that gives them by name (row["id"], asyncpg's)."""
    get = row.__getitem__ if hasattr(row, "keys") and not hasattr(row, "_mapping") else row.__getattribute__
    digest = get("response_sha256")
    hidden = get("hidden_until")
    return {
        "v": ENCODING_VERSION,
        "id": get("id"),
        "uscc": get("uscc"),
        "kind": get("kind"),
        "action": get("action"),
        "role": get("caller_role"),
        "organisation": get("caller_organisation"),
        "token": get("token_id"),
        "fields": sorted(get("fields") or ()),
        "tier": get("tier"),
        "purpose": get("purpose"),
        "authorisation": get("authorisation"),
        "legalBasis": get("legal_basis"),
        "subject": get("subject"),
        "requestId": get("request_id"),
        "responseSha256": bytes(digest).hex() if digest is not None else None,
        "hiddenUntil": hidden.isoformat() if hidden is not None else None,
        "at": timestamp(get("at")),
    }


def entry_bytes(row: Any) -> bytes:
    return canonical(entry_json(row))


def response_digest(data: Any) -> bytes:
    """SHA-256 of a response's `data` member as canonical JSON (sorted keys, no whitespace)."""
    return body_digest(canonical(data))
