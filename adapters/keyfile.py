"""The local key file: the hub's wrapping keys by version (hub.ports.KeyMaterial).

A JSON file, readable by the hub's user only (0600):
    {"format": "credit-hub wrapping keys 1", "current": 2, "versions": {"1": "<base64>", "2": "<base64>"}}
Every hub process reads it; `credit-hub keys rotate` adds a version (under an exclusive lock, replacing
the file atomically), and every process sees it at its next use (the file is re-read when it changes).
A version is never removed by the hub: rows on it could not be read. It holds keys only; hub.crypto
does the cryptography with them.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import threading
from pathlib import Path

FORMAT = "credit-hub wrapping keys 1"
KEY_BYTES = 32


class KeyFileError(RuntimeError):
    """The key file is missing, unreadable or not one (the message names the file, never a key)."""


class KeyFile:
    def __init__(self, path: Path, *, create: bool = False, first_key: bytes | None = None) -> None:
        """Open the key file at `path`; `create`: write it with `first_key` as version 1 when it is missing."""
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._current = 0
        self._versions: dict[int, bytes] = {}
        if create and not path.exists():
            if first_key is None or len(first_key) != KEY_BYTES:
                raise KeyFileError(f"{path}: a new key file needs a first key of {KEY_BYTES} bytes")
            self._write_new({1: first_key}, 1)
        self._load()

    def versions(self) -> dict[int, bytes]:
        self._load()
        return dict(self._versions)

    def current(self) -> int:
        self._load()
        return self._current

    def add(self, key: bytes) -> int:
        if len(key) != KEY_BYTES:
            raise KeyFileError(f"{self.path}: a wrapping key has {KEY_BYTES} bytes")
        with self._exclusive():
            self._seen = None
            self._load()
            version = max(self._versions, default=0) + 1
            self._write({**self._versions, version: key}, version)
            self._seen = None
            self._load()
        return version

    def __repr__(self) -> str:
        return f"KeyFile({str(self.path)!r}, <hidden>)"

    # --- the file ---------------------------------------------------------------------------------

    def _exclusive(self) -> _FileLock:
        return _FileLock(self.path.with_name(self.path.name + ".lock"))

    def _load(self) -> None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise KeyFileError(f"{self.path}: no key file (credit-hub keys init writes one)") from None
        seen = (stat.st_mtime_ns, stat.st_ino)
        if seen == self._seen:
            return
        with self._lock:
            try:
                data = json.loads(self.path.read_bytes())
                if data.get("format") != FORMAT:
                    raise ValueError
                versions = {int(v): base64.b64decode(k, validate=True) for v, k in data["versions"].items()}
                current = int(data["current"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error):
                raise KeyFileError(f"{self.path}: not a key file of the hub") from None
            if current not in versions or any(len(k) != KEY_BYTES for k in versions.values()):
                raise KeyFileError(f"{self.path}: not a key file of the hub")
            self._versions, self._current, self._seen = versions, current, seen

    def _write_new(self, versions: dict[int, bytes], current: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._exclusive():
            if not self.path.exists():
                self._write(versions, current)

    def _write(self, versions: dict[int, bytes], current: int) -> None:
        body = {
            "format": FORMAT,
            "current": current,
            "versions": {str(v): base64.b64encode(k).decode() for v, k in sorted(versions.items())},
        }
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)


class _FileLock:
    """An exclusive flock on a file beside the key file: two rotations add one version each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1

    def __enter__(self) -> _FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
