"""The decoded frames of the multi-frame image on screen, a few at a time (no Qt).

Least recently used frames go first once more than ``max_frames`` are held or their
pixels pass ``max_bytes``; the frame on screen is the last used, so it always stays.
"""

from __future__ import annotations

from collections import OrderedDict

from cxrviewer.io import LoadedImage

MAX_FRAMES = 7  # the one on screen and up to three either side
MAX_BYTES = 256 * 2**20  # seven 3000 x 3000 float32 frames would be 252 MiB


class FrameCache:
    def __init__(self, max_frames: int = MAX_FRAMES, max_bytes: int = MAX_BYTES) -> None:
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self._frames: OrderedDict[int, LoadedImage] = OrderedDict()

    def get(self, index: int) -> LoadedImage | None:
        image = self._frames.get(index)
        if image is not None:
            self._frames.move_to_end(index)
        return image

    def put(self, image: LoadedImage) -> None:
        self._frames[image.frame_index] = image
        self._frames.move_to_end(image.frame_index)
        while len(self._frames) > 1 and (len(self._frames) > self.max_frames or self.nbytes() > self.max_bytes):
            self._frames.popitem(last=False)

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    def nbytes(self) -> int:
        return sum(image.pixels.nbytes for image in self._frames.values())

    def clear(self) -> None:
        self._frames.clear()


def neighbours(index: int, count: int, reach: int = 2) -> list[int]:
    """Frames worth decoding ahead of the reader, nearest first, forward before back."""
    order = []
    for step in range(1, reach + 1):
        order += [index + step, index - step]
    return [i for i in order if 0 <= i < count]
