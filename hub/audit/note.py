"""Checkpoints as signed notes: the C2SP tlog-checkpoint body in a C2SP signed-note, Ed25519.

    <origin>\\n
    <tree size, decimal>\\n
    <root hash, base64>\\n
    \\n
    — <key name> <base64(key hash (4 bytes) || Ed25519 signature (64 bytes))>\\n

The signature covers the text before the blank line (its final newline included). The key hash is
SHA-256(name || 0x0A || 0x01 || public key)[:4], 0x01 naming Ed25519; the verifier key, as
golang.org/x/mod/sumdb/note spells it, is "<name>+<key hash, 8 hex digits>+<base64(0x01 || public key)>".
Anyone with that string checks a checkpoint with any signed-note library (Go's sumdb/note, the C2SP ones).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from hub.crypto import SigningKey, signature_valid

_ED25519 = b"\x01"
_DASH = "\u2014 "  # EM DASH and a space start a signature line


class NoteError(ValueError):
    """A note or key that does not parse, or whose signature does not verify."""


def key_hash(name: str, public_bytes: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public_bytes).digest()[:4]


def _name_ok(name: str) -> bool:
    return bool(name) and all(c.isprintable() and not c.isspace() and c != "+" for c in name)


def verifier_key(name: str, public_bytes: bytes) -> str:
    """The signed-note verifier key string of an Ed25519 public key."""
    if not _name_ok(name):
        raise NoteError("a key name is non-empty, printable, without spaces or '+'")
    encoded = base64.b64encode(_ED25519 + public_bytes).decode()
    return f"{name}+{key_hash(name, public_bytes).hex()}+{encoded}"


@dataclass(frozen=True, slots=True)
class Verifier:
    name: str
    hash: bytes
    public_bytes: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.split("+", 2)
        if len(parts) != 3 or not _name_ok(parts[0]) or len(parts[1]) != 8:
            raise NoteError("not a verifier key")
        name, hash_hex, encoded = parts
        try:
            raw = base64.b64decode(encoded, validate=True)
            expected = bytes.fromhex(hash_hex)
        except (binascii.Error, ValueError):
            raise NoteError("not a verifier key") from None
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise NoteError("not an Ed25519 verifier key")
        if key_hash(name, raw[1:]) != expected or hash_hex != hash_hex.lower():
            raise NoteError("the verifier key's hash does not match its key")
        return cls(name, expected, raw[1:])


def sign(text: str, name: str, key: SigningKey) -> str:
    """The note: `text` (lines ending in a newline, no blank line) and one signature line."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends in a newline and holds no blank line")
    signature = key.sign(text.encode())
    blob = base64.b64encode(key_hash(name, key.public_bytes) + signature).decode()
    return f"{text}\n{_DASH}{name} {blob}\n"


def open_note(note: str, verifier: Verifier) -> str:
    """The text of `note` when it carries a valid signature by `verifier`; NoteError otherwise."""
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("malformed note")
    text += "\n"
    found = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise NoteError("malformed note")
        name, _, blob = line[len(_DASH) :].partition(" ")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError("malformed note") from None
        if len(raw) < 5:
            raise NoteError("malformed note")
        if name != verifier.name or raw[:4] != verifier.hash:
            continue  # another key's signature: not ours to judge
        if len(raw) != 68 or not signature_valid(verifier.public_bytes, raw[4:], text.encode()):
            raise NoteError(f"invalid signature for key {verifier.name}+{verifier.hash.hex()}")
        found = True
    if not found:
        raise NoteError("note has no signature by the hub's access-log key")
    return text


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("malformed checkpoint")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin or not size.isascii() or not size.isdigit() or (size != "0" and size.startswith("0")):
            raise NoteError("malformed checkpoint")
        try:
            raw = base64.b64decode(root, validate=True)
        except binascii.Error:
            raise NoteError("malformed checkpoint") from None
        if len(raw) != 32:
            raise NoteError("malformed checkpoint")
        return cls(origin, int(size), raw)


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    checkpoint = Checkpoint.parse(open_note(note, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError("the checkpoint is of another log")
    return checkpoint
