"""Closing the window while work is still on its way to the UI thread."""

from __future__ import annotations

from cxrviewer.io import load_image


def test_an_image_arriving_after_close_is_ignored(qtbot, window, chest_dx):
    # A load result already queued to the UI thread can be delivered after
    # closeEvent shut the inference worker down; it must not raise.
    image = load_image(chest_dx)
    window.close()
    window.ai.analyse(image)
    window.ai.image_cleared("gone")
    assert window.ai.current_image is None
