"""``cxrviewer --reset-settings``: forget the saved window layout and recent files.

The viewer keeps them in the user's QSettings (organisation and application
"cxrviewer"): ``~/.config/cxrviewer/cxrviewer.conf`` on Linux ($XDG_CONFIG_HOME),
``HKEY_CURRENT_USER\\Software\\cxrviewer\\cxrviewer`` in the Windows registry,
``~/Library/Preferences/com.cxrviewer.cxrviewer.plist`` on macOS. A window restored
off-screen (a monitor that is gone) or a dock layout squeezed to nothing is fixed by
clearing them. Adapted models are not settings and stay where they are.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QSettings

log = logging.getLogger(__name__)


def reset_settings(settings: QSettings) -> str:
    """Remove every stored key of ``settings`` now; returns where they were kept."""
    where = settings.fileName()
    forgotten = len(settings.allKeys())
    settings.clear()
    settings.sync()  # written before the window reads it, so nothing of the old layout survives
    if settings.status() != QSettings.Status.NoError:
        raise OSError(f"could not reset the settings in {where}: {settings.status().name}")
    log.info("settings reset: %d stored values removed from %s", forgotten, where)
    return where
