"""Which PACS to talk to: a DICOMweb base URL (optional basic or bearer auth) and/or a DIMSE peer.

Secrets never appear in ``repr`` (a node may end up in a log line or a traceback).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import PacsError

DEFAULT_TIMEOUT_S = 20.0  # per connect and per read: a dead node fails in seconds, a slow big study still streams
DEFAULT_OUR_AET = "CXRVIEWER"
_AET = re.compile(r"^[ -\[\]-~]{1,16}$")  # printable ASCII without backslash, at most 16 characters


@dataclass(frozen=True)
class DicomWebNode:
    url: str  # base URL of the DICOMweb service, e.g. http://pacs:8042/dicom-web
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)  # bearer token (instead of a user)
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PacsError(f"not a DICOMweb URL: {self.url!r} (expected http://host[:port]/path)")
        if parts.username or parts.password:
            raise PacsError("put no credentials in the URL; use --user and CXR_PACS_PASSWORD instead")
        if self.token and self.username:
            raise PacsError("give a user or a bearer token, not both")
        if self.username is not None and self.password is None:
            raise PacsError(f"user {self.username!r} needs a password (set CXR_PACS_PASSWORD)")
        _check_timeout(self.timeout_s)
        object.__setattr__(self, "url", self.url.rstrip("/"))


@dataclass(frozen=True)
class DimseNode:
    ae_title: str  # the PACS's AE title
    host: str
    port: int
    our_ae_title: str = DEFAULT_OUR_AET
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        for name, value in (("AE title", self.ae_title), ("our AE title", self.our_ae_title)):
            check_ae_title(value, name)
        if not self.host:
            raise PacsError("a DIMSE node needs a host")
        if not 0 < int(self.port) < 65536:
            raise PacsError(f"port {self.port} is not in 1-65535")
        _check_timeout(self.timeout_s)

    @classmethod
    def parse(cls, text: str, our_ae_title: str = DEFAULT_OUR_AET,
              timeout_s: float = DEFAULT_TIMEOUT_S) -> DimseNode:
        """``AET@host:port``, the way DICOM peers are usually written down."""
        match = re.fullmatch(r"(?P<aet>[^@]+)@(?P<host>\[[^\]]+\]|[^:]+):(?P<port>\d+)", text.strip())
        if match is None:
            raise PacsError(f"not a DIMSE node: {text!r} (expected AET@host:port)")
        return cls(match["aet"], match["host"].strip("[]"), int(match["port"]), our_ae_title, timeout_s)


def check_ae_title(value: str, name: str = "AE title") -> str:
    if not _AET.match(value or "") or not value.strip():
        raise PacsError(f"{name} {value!r} is not valid (1-16 printable ASCII characters, no backslash)")
    return value


def _check_timeout(seconds: float) -> None:
    if not 0 < seconds <= 3600:
        raise PacsError(f"time-out {seconds} s is not in (0, 3600]")
