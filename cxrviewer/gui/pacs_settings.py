"""The PACS node the viewer talks to, kept in QSettings; its password or token kept by `keyring`.

Secrets never go into the settings file. With the optional `keyring` package and a
working backend (the desktop's keychain), they are stored there; otherwise they are
kept in memory for this session only, and :attr:`SecretStore.note` says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QSettings

from cxrviewer.pacs.cache import default_cache_dir
from cxrviewer.pacs.node import DEFAULT_OUR_AET, DEFAULT_TIMEOUT_S, DicomWebNode, DimseNode

log = logging.getLogger(__name__)

DICOMWEB, DIMSE = "dicomweb", "dimse"
NO_AUTH, BASIC, BEARER = "none", "basic", "bearer"
KEYRING_SERVICE = "cxrviewer-pacs"
_GROUP = "pacs"


@dataclass(frozen=True)
class PacsNodeSettings:
    kind: str = DICOMWEB
    url: str = ""
    auth: str = NO_AUTH
    username: str = ""
    ae_title: str = ""
    host: str = ""
    port: int = 104
    our_ae_title: str = DEFAULT_OUR_AET
    timeout_s: float = DEFAULT_TIMEOUT_S
    cache_dir: str = ""  # empty: the default per-user cache

    @property
    def secret_key(self) -> str:
        """Which keyring entry holds this node's secret (one per URL and user, or token)."""
        return f"{self.url}|{self.username if self.auth == BASIC else 'bearer'}"

    def describe(self) -> str:
        if self.kind == DIMSE:
            return f"{self.ae_title}@{self.host}:{self.port}"
        return self.url

    def node(self, secret: str | None):
        """The DicomWebNode or DimseNode (PacsError when the settings are incomplete or invalid)."""
        if self.kind == DIMSE:
            return DimseNode(self.ae_title, self.host, int(self.port), self.our_ae_title, self.timeout_s)
        if self.auth == BASIC:
            return DicomWebNode(self.url, username=self.username, password=secret, timeout_s=self.timeout_s)
        if self.auth == BEARER:
            return DicomWebNode(self.url, token=secret or None, timeout_s=self.timeout_s)
        return DicomWebNode(self.url, timeout_s=self.timeout_s)

    def cache_root(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()


def load_node_settings(settings: QSettings) -> PacsNodeSettings:
    default = PacsNodeSettings()
    values = {}
    for name, value in default.__dict__.items():
        stored = settings.value(f"{_GROUP}/{name}", value)
        try:
            values[name] = type(value)(stored)
        except (TypeError, ValueError):
            values[name] = value
    return replace(default, **values)


def save_node_settings(settings: QSettings, node: PacsNodeSettings) -> None:
    for name, value in node.__dict__.items():
        settings.setValue(f"{_GROUP}/{name}", value)
    settings.sync()


class SecretStore:
    """Passwords and tokens: the system keyring where there is one, else this session's memory."""

    def __init__(self, use_keyring: bool = True) -> None:
        self._memory: dict[str, str] = {}
        self._keyring = _usable_keyring() if use_keyring else None

    @property
    def persistent(self) -> bool:
        return self._keyring is not None

    @property
    def note(self) -> str:
        if self.persistent:
            return "The password is kept in the system keyring."
        return ("No system keyring is available (install the 'keyring' package with a backend): the password "
                "is kept in memory for this session only, never in the settings file.")

    def get(self, key: str) -> str | None:
        if key in self._memory:
            return self._memory[key]
        if self._keyring is not None:
            try:
                return self._keyring.get_password(KEYRING_SERVICE, key)
            except Exception:  # noqa: BLE001 - a locked or broken keyring: ask again
                log.info("keyring: could not read a secret")
        return None

    def set(self, key: str, secret: str) -> None:
        self._memory[key] = secret
        if self._keyring is not None and secret:
            try:
                self._keyring.set_password(KEYRING_SERVICE, key, secret)
            except Exception:  # noqa: BLE001
                log.info("keyring: could not store a secret; kept for this session only")


def _usable_keyring():
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    return keyring
