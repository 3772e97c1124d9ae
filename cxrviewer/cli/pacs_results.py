"""`cxr pacs predict --send-results`: send each reading, and say so when a study's results could not be stored."""

from __future__ import annotations

from pathlib import Path

from cxrviewer.pacs.client import PacsClient
from cxrviewer.pacs.errors import PacsAuthError, PacsError, PacsUnreachable
from cxrviewer.pacs.retrieve import InstanceRef
from cxrviewer.pacs.send import ResultSender

from .pacs import complain


class CliResultSender:
    def __init__(self, pacs: PacsClient, model_dir: Path) -> None:
        self._sender = ResultSender(pacs, model_dir)

    def send(self, ref: InstanceRef, record: dict, result, image) -> bool:
        """True when stored; False (with a message) when this image's results were refused.
        An unreachable node or refused credentials end the run (raised)."""
        cam = None if result is None else result.cam
        strength = 1.0 if result is None else result.cam_strength
        try:
            self._sender.send(ref, record, image, cam, strength)
        except (PacsUnreachable, PacsAuthError):
            raise
        except PacsError as exc:
            complain("predict", f"study {ref.study_uid}: results not stored: {exc}")
            return False
        except (OSError, ValueError) as exc:  # an unreadable cached header, a dataset highdicom refused
            complain("predict", f"study {ref.study_uid}: results not built ({type(exc).__name__}: {exc})")
            return False
        return True
