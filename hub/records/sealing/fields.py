"""Personal fields of credit records, sealed at rest (envelope encryption, hub.crypto).

Which fields are sealed is catalogue data: every field whose sensitivity class in the record is
`personal` (conditional sensitivity included: a party's name is personal when the party is a natural
person). A row keeps its other fields in `content`; each personal one is sealed on its own into
`sealed` ({field: base64}), under a data key stored wrapped on the row (`wrapped_key`, `key_version`).
The associated data of a sealed field binds the table, the field, the row's key (subject, source,
record id and the content digest, which differs between any two versions of a record that differ) and
the key version: a sealed value copied to another row or field does not open.

One data key seals a batch of rows (DATA_KEY_ROWS): a bulk load wraps a key per batch, not per row
(with a KMS: one call per batch), and a read that meets a batch's rows unwraps it once. Each row still
carries its wrapped key, so a row is read, re-keyed and moved on its own.

`tags` ({field: keyed digest}) stand in for the sealed values where the hub compares versions (the
fields a new version changed, computed in SQL by the bulk merge): keyed per record, so equal values of
two records do not look equal.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from hub.catalog.record_types import FieldDef, RecordTypeDef
from hub.crypto import (
    DataKey,
    KeyedDigest,
    blind_index,
    context_bytes,
    new_data_key,
    open_data_key,
)
from hub.ports import KeyProvider

TABLE = "records"
# Rows sealed under one data key (a push carries at most 1000 records: one key per push).
DATA_KEY_ROWS = 1000
# key_version of rows written before encryption at rest (migration 0012): plain, until rotated.
PLAIN_VERSION = 0
# The ID-number blind index's bits (HUB_BLIND_INDEX_BITS, whose default this is; a test checks both).
BLIND_INDEX_BITS = 16
BLIND_INDEX_PURPOSE = "id-number"
_TAG_BYTES = 12
# Purposes of the keyed digests (hub.crypto.KeyedDigest): the content's, and the change tags'.
CONTENT_DIGEST = "record-content"
TAG_DIGEST = "record-field-tag"


def maybe_personal(definition: RecordTypeDef) -> tuple[FieldDef, ...]:
    """The fields that are personal in some record of this type (by class or by a conditional rule)."""
    return tuple(
        f
        for f in definition.fields
        if f.sensitivity == "personal" or any(r.sensitivity == "personal" for r in f.sensitivity_when)
    )


def row_key(uscc: str, source_dept: str, source_record_id: str, content_hash: bytes) -> tuple[str, ...]:
    return (uscc, source_dept, source_record_id, content_hash.hex())


@dataclass(frozen=True, slots=True)
class SealedRow:
    """The stored columns of a record's content."""

    content: dict[str, Any]
    content_json: bytes
    content_hash: bytes
    sealed: dict[str, str] | None
    tags: dict[str, str] | None
    key_version: int | None
    wrapped_key: bytes | None
    # Blind indexes of the ID numbers the record names (its personal id_number fields).
    id_index: list[int] | None = None


class Sealer:
    """Seals rows' personal fields, a fresh data key every DATA_KEY_ROWS sealed rows."""

    def __init__(
        self, keys: KeyProvider, rows_per_key: int = DATA_KEY_ROWS, index_bits: int = BLIND_INDEX_BITS
    ) -> None:
        self.keys = keys
        self.index_bits = index_bits
        self.rows_per_key = rows_per_key
        self._key: DataKey | None = None
        self._used = 0
        self._candidates: dict[int, tuple[RecordTypeDef, tuple[FieldDef, ...]]] = {}
        self._content_digest = KeyedDigest(keys, CONTENT_DIGEST)
        self._tag_digest = KeyedDigest(keys, TAG_DIGEST, _TAG_BYTES)

    def _personal(self, definition: RecordTypeDef | None, values: Mapping[str, Any]) -> list[str]:
        if definition is None:
            return []
        # By object (kept alive beside its entry): two stored versions of a type may share `version`.
        found = self._candidates.get(id(definition))
        if found is None:
            found = self._candidates[id(definition)] = (definition, maybe_personal(definition))
        candidates = found[1]
        return [f.name for f in candidates if f.name in values and f.sensitivity_for(values) == "personal"]

    def data_key(self) -> DataKey:
        if (
            self._key is None
            or self._used >= self.rows_per_key
            or self._key.version != self.keys.current_version
        ):
            self._key, self._used = new_data_key(self.keys, TABLE), 0
        self._used += 1
        return self._key

    def seal(
        self,
        definition: RecordTypeDef | None,
        uscc: str,
        source_dept: str,
        source_record_id: str,
        values: Mapping[str, Any],
        newest: RecordTypeDef | None = None,
    ) -> SealedRow:
        """The stored columns of a record with these values, validated against `definition`. `newest`
        (a rotation sealing a row written before encryption at rest): the record type's version in
        force, whose personal fields are sealed too (a field the catalogue has since classed personal,
        as FRDB was in issue 9, is then not left plain)."""
        encoded = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
        # Keyed: the content holds ID numbers, which an unkeyed digest would let anyone test guesses of.
        content_hash = self._content_digest(encoded)
        personal = self._personal(definition, values)
        if newest is not None and newest is not definition:
            personal += [n for n in self._personal(newest, values) if n not in personal]
        if not personal:
            return SealedRow(dict(values), encoded, content_hash, None, None, None, None)
        indexes = self.id_indexes(newest or definition, values, personal)
        return self.seal_fields(
            uscc, source_dept, source_record_id, content_hash, values, personal, id_index=indexes or None
        )

    def id_indexes(
        self, definition: RecordTypeDef | None, values: Mapping[str, Any], personal: Sequence[str]
    ) -> list[int]:
        """The blind index of each ID number among the personal fields (in field order, no repeats)."""
        if definition is None:
            return []
        out: list[int] = []
        for name in personal:
            value = values.get(name)
            if (
                isinstance(value, str)
                and value
                and definition.has_field(name)
                and definition.field(name).type == "id_number"
            ):
                index = blind_index(self.keys, BLIND_INDEX_PURPOSE, value, self.index_bits)
                if index not in out:
                    out.append(index)
        return out

    def seal_fields(
        self,
        uscc: str,
        source_dept: str,
        source_record_id: str,
        content_hash: bytes,
        values: Mapping[str, Any],
        personal: Sequence[str],
        known_tags: Mapping[str, str] | None = None,
        id_index: list[int] | None = None,
    ) -> SealedRow:
        """The fields `personal` of `values` sealed under the current data key, for the row with this
        content digest (a key rotation reseals a row's fields so: its digest, and row key, stay; so do
        its change tags, which it passes as `known_tags`: their key is never rotated)."""
        known = known_tags or {}
        key = self.data_key()
        row = row_key(uscc, source_dept, source_record_id, content_hash)
        leaving = set(personal)
        content = {k: v for k, v in values.items() if k not in leaving}
        sealed: dict[str, str] = {}
        tags: dict[str, str] = {}
        for name in personal:
            plain = orjson.dumps(values[name])
            sealed[name] = base64.b64encode(key.seal(TABLE, name, row, plain)).decode()
            kept = known.get(name)
            tags[name] = (
                kept
                if kept is not None
                else _tag(
                    self._tag_digest(context_bytes(source_dept, source_record_id, name, plain.decode()))
                )
            )
        return SealedRow(
            content,
            orjson.dumps(content, option=orjson.OPT_SORT_KEYS),
            content_hash,
            sealed,
            tags,
            key.version,
            key.wrapped,
            id_index,
        )


def _tag(digest: bytes) -> str:
    return "#" + base64.b64encode(digest).decode()


def opened_content(keys: KeyProvider, row: Any) -> dict[str, Any]:
    """A stored row's content with its sealed fields opened (a row written before encryption at rest
    has them in `content`). `row`: an ORM Record or a row with its columns."""
    sealed = row.sealed
    if not sealed:
        return dict(row.content)
    key = open_data_key(keys, row.key_version, bytes(row.wrapped_key), TABLE)
    where = row_key(row.uscc, row.source_dept, row.source_record_id, bytes(row.content_hash))
    out = dict(row.content)
    for name, value in sealed.items():
        out[name] = orjson.loads(key.open(TABLE, name, where, base64.b64decode(value)))
    return out


def compared_content(row_content: Mapping[str, Any], tags: Mapping[str, str] | None) -> dict[str, Any]:
    """What versions of a record are compared on (the fields a new version changed): its content, the
    personal fields by their tags."""
    return {**row_content, **(tags or {})}
