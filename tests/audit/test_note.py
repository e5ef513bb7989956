"""Signed notes and checkpoints against the published examples of golang.org/x/mod/sumdb/note
(note_test.go): the PeterNeumann key pair, its verifier key and a note it signed."""

from __future__ import annotations

import base64

import pytest

from hub.audit import note
from hub.crypto import SigningKey

# The example's signer key "PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 || seed)>".
SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
SIGNED = (
    TEXT
    + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
ENOCH_SIG = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"


def test_signing_gives_the_published_note_and_verifier_key() -> None:
    key = SigningKey.from_seed("example", SEED)
    assert note.sign(TEXT, "PeterNeumann", key) == SIGNED
    assert note.verifier_key("PeterNeumann", key.public_bytes) == VKEY


def test_the_published_note_opens_with_the_published_key() -> None:
    assert note.open_note(SIGNED, note.Verifier.parse(VKEY)) == TEXT
    # A second signature by another key is not ours to judge; ours still counts.
    assert note.open_note(SIGNED + ENOCH_SIG, note.Verifier.parse(VKEY)) == TEXT
    assert note.open_note(TEXT + "\n" + ENOCH_SIG, note.Verifier.parse(ENOCH)) == TEXT


@pytest.mark.parametrize(
    "bad",
    [
        TEXT,
        TEXT + "\n",
        SIGNED[:-1],
        SIGNED.replace("problem,", "problem;"),
        SIGNED[:120] + "ABCD" + SIGNED[124:],
        SIGNED + "Unexpected line.\n",
        TEXT + "\n" + ENOCH_SIG,  # signed, but not by this key
    ],
)
def test_altered_or_foreign_notes_do_not_open(bad: str) -> None:
    with pytest.raises(note.NoteError):
        note.open_note(bad, note.Verifier.parse(VKEY))


@pytest.mark.parametrize(
    "bad",
    [
        VKEY[:-1],
        VKEY.replace("c74f20a3", "c74f20a4"),
        VKEY.replace("PeterNeumann", "PeterNeuman"),
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # unknown algorithm
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",  # wrong length
        "",
    ],
)
def test_mangled_verifier_keys_are_refused(bad: str) -> None:
    with pytest.raises(note.NoteError):
        note.Verifier.parse(bad)


def test_a_checkpoint_is_the_tlog_checkpoint_body() -> None:
    key = SigningKey.from_seed("example", SEED)
    root = bytes(range(32))
    body = note.Checkpoint("example.com/log", 42, root).text()
    assert body == "example.com/log\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    signed = note.sign(body, "example.com/log", key)
    vkey = note.Verifier.parse(note.verifier_key("example.com/log", key.public_bytes))
    assert note.open_checkpoint(signed, vkey, "example.com/log") == note.Checkpoint(
        "example.com/log", 42, root
    )
    with pytest.raises(note.NoteError):
        note.open_checkpoint(signed, vkey, "another.example/log")
    for bad in ("x\n042\n" + body.split("\n")[2] + "\n", "x\n1\nAAAA\n", "x\n-1\nAAAA\n"):
        with pytest.raises(note.NoteError):
            note.Checkpoint.parse(bad)
