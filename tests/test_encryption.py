"""Encryption at rest, the primitives: HKDF derivation, the person key that never changes, SM4-GCM,
data keys bound to table, column, row and key version, the blind index's size, the local key file."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr

from adapters.keyfile import KeyFile, KeyFileError
from hub.catalog.record_types import load_bundled
from hub.crypto import (
    CIPHERS,
    KeyRing,
    KeyUnavailable,
    SealBroken,
    StaticKeyProvider,
    _encrypt,
    blind_index,
    blind_index_bits_fit,
    new_data_key,
    new_wrapping_key,
    open_data_key,
    person_key,
)
from hub.records.sealing.fields import BLIND_INDEX_BITS, Sealer, opened_content
from hub.settings import Settings
from hub.web.keys import init_key_file, key_provider

SECRET = SecretStr("a-fixed-master-secret-for-the-person-key-test")
KEYS = StaticKeyProvider(SECRET)
GB11643_EXAMPLE = "11010519491231002X"


def _rfc5869(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 as RFC 5869 §2 writes it (no salt: a string of HashLen zeros)."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def test_person_keys_of_an_existing_deployment_do_not_change() -> None:
    # Written out by hand: HMAC-SHA256 under HMAC-SHA256(master, "person-archive-key"), as before issue 9.
    own_key = hmac.new(SECRET.get_secret_value().encode(), b"person-archive-key", hashlib.sha256).digest()
    by_hand = "P" + hmac.new(own_key, GB11643_EXAMPLE.encode(), hashlib.sha256).hexdigest()[:17].upper()
    assert by_hand == "P51112FA2D1881E4D4"
    assert person_key(KEYS, GB11643_EXAMPLE) == by_hand
    # Rotating the wrapping keys, or a key file, leaves it as it is: it has a key of its own.
    assert person_key(StaticKeyProvider(SECRET, current_version=5), GB11643_EXAMPLE) == by_hand


def test_sealed_plan_seeds_keep_their_key() -> None:
    """Migration 0003 sealed seeds under HMAC(master, "inspection-plan-seed"): the hub still opens them."""
    assert (
        KEYS.key("inspection-plan-seed")
        == hmac.new(SECRET.get_secret_value().encode(), b"inspection-plan-seed", hashlib.sha256).digest()
    )


def test_other_purposes_are_derived_with_hkdf() -> None:
    master = SECRET.get_secret_value().encode()
    for purpose in ("signing:grant", "blind-index:id-number", "digest:record-content"):
        assert KEYS.key(purpose) == _rfc5869(master, b"credit-hub key " + purpose.encode())
    assert KEYS.key("signing:grant") != KEYS.key("signing:access-log")


def test_sm4_gcm_matches_rfc_8998() -> None:
    """RFC 8998 appendix A.1, the SM4-GCM example."""
    sealed = _encrypt(
        "sm4-gcm",
        bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
        bytes.fromhex("00001234567800000000ABCD"),
        bytes.fromhex(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
            "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
        ),
        bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2"),
    )
    assert sealed.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
        "83DE3541E4C2B58177E065A9BF7B62EC"
    )


ROW = ("91230102MA1B2C3D4E", "11230100000000020X", "罚-1", "00" * 16)


@pytest.mark.parametrize("cipher", sorted(CIPHERS))
def test_a_sealed_field_opens_only_in_its_table_column_row_and_version(cipher: str) -> None:
    keys = StaticKeyProvider(SECRET, cipher)
    key = new_data_key(keys, "records")
    assert (key.cipher, key.version, len(key._key)) == (cipher, 1, {"aes-256-gcm": 32, "sm4-gcm": 16}[cipher])
    sealed = key.seal("records", "FR_ZJHM", ROW, b'"11010519491231002X"')
    assert b"11010519491231002X" not in sealed
    assert key.open("records", "FR_ZJHM", ROW, sealed) == b'"11010519491231002X"'
    other_row = (ROW[0], ROW[1], "罚-2", ROW[3])
    other_version = (ROW[0], ROW[1], ROW[2], "11" * 16)
    for table, column, row in (
        ("records", "FRDB", ROW),  # another column
        ("records", "FR_ZJHM", other_row),  # another row
        ("records", "FR_ZJHM", other_version),  # another version of the record
        ("archive", "FR_ZJHM", ROW),  # another table
    ):
        with pytest.raises(SealBroken):
            key.open(table, column, row, sealed)
    # The same key under another version number (a row whose key_version was changed) does not open it.
    relabelled = type(key)(2, key.cipher, key.wrapped, key._key)
    with pytest.raises(SealBroken):
        relabelled.open("records", "FR_ZJHM", ROW, sealed)
    flipped = bytearray(sealed)
    flipped[-1] ^= 1
    with pytest.raises(SealBroken):
        key.open("records", "FR_ZJHM", ROW, bytes(flipped))


def test_a_wrapped_data_key_opens_only_under_its_version_and_provider() -> None:
    key = new_data_key(KEYS, "records")
    assert open_data_key(KEYS, 1, key.wrapped, "records")._key == key._key
    with pytest.raises(KeyUnavailable):
        open_data_key(KEYS, 2, key.wrapped, "records")
    with pytest.raises(SealBroken):  # another master secret
        open_data_key(StaticKeyProvider(SecretStr("x" * 40)), 1, key.wrapped, "records")
    with pytest.raises(SealBroken):  # wrapped for another table
        open_data_key(StaticKeyProvider(SECRET), 1, key.wrapped, "consents")
    assert "_key" not in repr(key) and key._key.hex() not in repr(key)


def test_the_blind_index_size_follows_ciphersweet_rule() -> None:
    """2 <= R / 2^L < sqrt(R): R = 10^7 planned rows, L = 16 bits -> 152.6 rows per value, sqrt(R) = 3162."""
    settings = Settings()
    rows, bits = settings.blind_index_planned_rows, settings.blind_index_bits
    assert (rows, bits) == (10_000_000, 16)
    assert 2 <= rows / 2**bits < math.sqrt(rows)
    assert blind_index_bits_fit(rows, bits)
    # Figures of the rule by hand: at 10^7 rows, 12 to 22 bits fit; 11 narrows too little, 23 identifies.
    assert [b for b in range(8, 30) if blind_index_bits_fit(10_000_000, b)] == list(range(12, 23))
    assert not blind_index_bits_fit(1_000, 16)  # 0.015 rows per value: each value is about one row


def test_blind_index_values_fit_their_bits_and_are_keyed() -> None:
    values = {blind_index(KEYS, "id-number", f"2301031985061512{i:02d}", 16) for i in range(100)}
    assert all(0 <= v < 2**16 for v in values)
    assert len(values) > 90  # spread out
    other = StaticKeyProvider(SecretStr("another-master-secret-of-enough-length"))
    assert blind_index(other, "id-number", GB11643_EXAMPLE, 16) != blind_index(
        KEYS, "id-number", GB11643_EXAMPLE, 16
    )


def test_the_key_file_adds_versions_that_every_reader_sees(tmp_path) -> None:
    path = tmp_path / "keys.json"
    with pytest.raises(KeyFileError, match="no key file"):
        KeyFile(path)
    writer = KeyFile(path, create=True, first_key=new_wrapping_key())
    reader = KeyFile(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert (writer.current(), reader.current()) == (1, 1)
    ring = KeyRing(SECRET, reader)
    first = new_data_key(ring, "records")
    assert writer.add(new_wrapping_key()) == 2
    assert reader.current() == 2 and sorted(reader.versions()) == [1, 2]
    assert new_data_key(ring, "records").version == 2
    assert open_data_key(ring, 1, first.wrapped, "records")._key == first._key
    body = json.loads(path.read_text())
    assert body["current"] == 2 and sorted(body["versions"]) == ["1", "2"]
    assert body["versions"]["1"] not in repr(reader) + repr(ring)


def test_a_broken_key_file_is_refused_without_showing_it(tmp_path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('{"format": "credit-hub wrapping keys 1", "current": 1, "versions": {"1": "c2hvcnQ="}}')
    with pytest.raises(KeyFileError, match="not a key file") as caught:
        KeyFile(path)
    assert "c2hvcnQ" not in str(caught.value)


def test_the_blind_index_default_is_the_settings_default() -> None:
    assert Settings().blind_index_bits == BLIND_INDEX_BITS


def test_production_needs_a_key_file(tmp_path) -> None:
    production = {"environment": "production", "master_key": "m" * 40, "database_url": "postgresql://h@db/h"}
    with pytest.raises(SystemExit, match="HUB_KEY_FILE must name"):
        key_provider(Settings(**production))
    with pytest.raises(SystemExit, match="no key file"):
        key_provider(Settings(**production, key_file=tmp_path / "keys.json"))
    path, current = init_key_file(Settings(**production, key_file=tmp_path / "keys.json"))
    assert (path, current) == (str(tmp_path / "keys.json"), 1)
    assert key_provider(Settings(**production, key_file=tmp_path / "keys.json")).current_version == 1
    assert (
        init_key_file(Settings(**production, key_file=tmp_path / "keys.json"))[1] == 1
    )  # kept, not replaced


class FakeKms:
    """A KeyProvider as a KMS or an HSM would be: its wrapping key never leaves it, and it counts calls."""

    def __init__(self) -> None:
        self._inside = AESGCM(os.urandom(32))
        self.wraps = self.unwraps = 0

    data_cipher = "aes-256-gcm"
    current_version = 7

    def key(self, purpose: str) -> bytes:
        return hashlib.sha256(b"kms stable key " + purpose.encode()).digest()

    def wrap(self, version: int, data_key: bytes, context: bytes) -> bytes:
        self.wraps += 1
        nonce = os.urandom(12)
        return nonce + self._inside.encrypt(nonce, data_key, context + str(version).encode())

    def unwrap(self, version: int, wrapped: bytes, context: bytes) -> bytes:
        self.unwraps += 1
        return self._inside.decrypt(wrapped[:12], wrapped[12:], context + str(version).encode())


def test_a_kms_behind_the_protocol_is_called_once_per_batch_of_rows() -> None:
    """One data key per 1,000 rows: 2,500 rows sealed with 3 wraps; read back with 3 unwraps."""
    kms = FakeKms()
    definition = load_bundled()["administrative_penalty"]
    sealer = Sealer(kms)
    rows = []
    for i in range(2500):
        values = {"XDR_LB": "法人及非法人组织", "FRDB": f"王某{i}", "FR_ZJHM": GB11643_EXAMPLE, "WSH": str(i)}
        stored = sealer.seal(definition, "91230102MA1B2C3D4E", "11230100000000020X", str(i), values)
        rows.append(
            SimpleNamespace(
                uscc="91230102MA1B2C3D4E",
                source_dept="11230100000000020X",
                source_record_id=str(i),
                content=stored.content,
                content_hash=stored.content_hash,
                sealed=stored.sealed,
                key_version=stored.key_version,
                wrapped_key=stored.wrapped_key,
            )
        )
    assert (kms.wraps, {r.key_version for r in rows}) == (3, {7})
    assert [opened_content(kms, r)["FRDB"] for r in rows] == [f"王某{i}" for i in range(2500)]
    assert kms.unwraps == 3


def test_two_rotations_at_once_add_one_version_each(tmp_path) -> None:
    path = tmp_path / "keys.json"
    KeyFile(path, create=True, first_key=new_wrapping_key())
    writers = [KeyFile(path) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        added = sorted(pool.map(lambda w: w.add(new_wrapping_key()), writers))
    assert added == list(range(2, 10))
    assert sorted(KeyFile(path).versions()) == list(range(1, 10)) and KeyFile(path).current() == 9
