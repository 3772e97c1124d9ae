"""Make a decoder process die of SIGABRT on one file, as GDCM's abort() used to kill it.

The files that made GDCM abort are now refused before it runs
(tests/io/test_codestream_check.py), so tests of what a crash costs deliver the abort
themselves: the decoder is killed right after the file is sent to it.
"""

from __future__ import annotations

import os
import signal

from cxrviewer.io.sandbox import DecoderPool


def abort_decoder_on(monkeypatch, file_name: str) -> None:
    """Any DecoderPool's decoder dies of SIGABRT once it is sent a file called ``file_name``."""
    ask = DecoderPool._ask

    def ask_then_abort(pool, decoder, path, *frame):
        if path.name == file_name:
            send = decoder.conn.send

            def send_then_abort(message) -> None:
                send(message)
                os.kill(decoder.process.pid, signal.SIGABRT)

            decoder.conn.send = send_then_abort  # this decoder dies, so it is never asked again
        return ask(pool, decoder, path, *frame)

    monkeypatch.setattr(DecoderPool, "_ask", ask_then_abort)
