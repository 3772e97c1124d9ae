"""Background work for the viewer: one Qt-free queue (``queue``) and one Qt adapter (``qt_thread``).

The image loader and the AI reader both run on it: lanes with priorities,
latest-wins slots, bounded queues with back-pressure, cooperative cancellation.
Workers hand back plain frozen dataclasses; only ``qt_thread`` knows Qt.
"""
