"""Silencing library warnings during a load, safely when loads run in several threads."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

# warnings.catch_warnings swaps process-wide state: two threads entering and leaving
# it interleaved can leave one thread's filters installed for good. Loads run in
# worker threads, so quiet sections take turns.
_WARNINGS_LOCK = threading.RLock()


@contextmanager
def quiet_warnings() -> Iterator[None]:
    """Swallow warnings raised inside (pydicom's about non-conformant files, Pillow's
    decompression-bomb notice): they are expected, our own checks report what matters,
    and pydicom's text may quote element values such as patient names."""
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if caught:
        log.debug("%d library warning(s) silenced while loading", len(caught))
