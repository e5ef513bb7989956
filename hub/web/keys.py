"""The hub's KeyProvider, from the settings: the one place that picks its adapter."""

from __future__ import annotations

from adapters.keyfile import KeyFile, KeyFileError
from hub.crypto import KeyRing, StaticKeyProvider, new_wrapping_key
from hub.ports import KeyProvider
from hub.settings import Settings


def key_provider(settings: Settings, *, create: bool = False) -> KeyProvider:
    """The local key file named by HUB_KEY_FILE (`create`: written with a first version when missing),
    or, in development only, wrapping keys derived from HUB_MASTER_KEY."""
    if settings.key_file is None:
        if settings.environment == "production":
            raise SystemExit("HUB_KEY_FILE must name the hub's key file in production (credit-hub keys init)")
        return StaticKeyProvider(settings.master_key, settings.data_cipher)
    try:
        material = KeyFile(settings.key_file, create=create, first_key=new_wrapping_key() if create else None)
    except KeyFileError as error:
        raise SystemExit(str(error)) from None
    return KeyRing(settings.master_key, material, settings.data_cipher)


def init_key_file(settings: Settings) -> tuple[str, int]:
    """Write the key file named by HUB_KEY_FILE with a first wrapping key, unless it exists: (path, current)."""
    if settings.key_file is None:
        raise SystemExit("HUB_KEY_FILE must name the key file to write")
    try:
        material = KeyFile(settings.key_file, create=True, first_key=new_wrapping_key())
    except KeyFileError as error:
        raise SystemExit(str(error)) from None
    return str(settings.key_file), material.current()


def add_wrapping_key(settings: Settings) -> int:
    """A new wrapping key in the key file, made current at once for every process; its version."""
    if settings.key_file is None:
        raise SystemExit(
            "wrapping keys derived from HUB_MASTER_KEY cannot be rotated: set HUB_KEY_FILE (credit-hub keys init)"
        )
    try:
        return KeyFile(settings.key_file).add(new_wrapping_key())
    except KeyFileError as error:
        raise SystemExit(str(error)) from None
