"""Decode untrusted files in separate, long-lived decoder processes.

The C and Rust decoders behind pydicom and Pillow (GDCM, OpenJPEG, pylibjpeg-rle)
can abort the process, panic, loop or allocate gigabytes on a damaged file, and
they hold the GIL while they work. Here they run in a small pool of child
processes (spawned, never forked: the viewer has Qt threads), each with an
address-space limit. Pixels come back through shared memory. When a child dies,
hangs past the time-out or runs out of memory, that file gets one clear
``ImageLoadError`` and a fresh child takes the next file; the caller never sees
anything else.

    pool = DecoderPool()            # or default_pool(), shared by the process
    image = pool.load(path)         # LoadedImage, or raises ImageLoadError
    pool.close()

Only plain data crosses the pipe (the path and a frame number in; the LoadedImage's fields, the name
of a shared-memory block, or an error class name and its message out).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import dataclasses
import logging
import mmap
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from multiprocessing import shared_memory
from pathlib import Path

import numpy as np

from .errors import CorruptImageError, ImageLoadError
from .image import LoadedImage

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
# Address space of one decoder: a 16384 x 16384 16-bit image (512 MiB) decoded to
# float32 (1 GiB) with the decoder's own buffers fits; a bomb that asks for more fails.
DEFAULT_MEMORY_LIMIT = 6 * 1024**3
# GDCM and OpenJPEG leak a little native memory with every file (about 0.5 and 0.2 KiB,
# measured on fuzzed files: a decoder grew 32 MiB over 86,000 of them). A decoder that has
# answered this many files is replaced, which bounds that at a few MiB for one 0.4 s start.
FILES_PER_DECODER = 10_000
_STARTING = threading.Lock()  # one child starts at a time: __main__ is patched meanwhile
_ERROR_TYPES = {cls.__name__: cls for cls in ImageLoadError.__subclasses__()} | {"ImageLoadError": ImageLoadError}


# ----- the child ------------------------------------------------------------------------------
def _limit_memory(limit: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: no rlimits; the time-out still applies
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass


def _heap_trimmer():
    """glibc's malloc_trim(0), or nothing where there is none (musl, macOS, Windows).

    After a large image glibc keeps much of what the decoder freed resident: 143 MiB for
    the decoder's life after one 16384 x 16384 JPEG 2000 (OpenJPEG's code blocks are heap
    allocations), 20 MiB after the shared hip J2K; every later file ran with it on top
    (found by benchmarks/fuzz_loader.py's per-file peak RSS). Trimming costs microseconds.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):
        return lambda: None
    return lambda: trim(0)


def _decoder_main(conn, memory_limit: int) -> None:
    """Child process: decode paths from ``conn`` until it sends None or closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the parent, which stops us
    logging.disable(logging.CRITICAL)  # third-party messages may quote paths or header values
    if not os.environ.get("CXR_DECODER_STDERR"):
        # GDCM and Rust panics write to fd 2 directly (paths, backtraces): not to the user's terminal.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        # Nobody sees a Rust panic's backtrace here, and with RUST_BACKTRACE=1 (a developer's
        # shell) each panic spent 0.2 s loading symbol tables it then kept: 50 MiB for good.
        os.environ["RUST_BACKTRACE"] = "0"
    _limit_memory(memory_limit)
    from .loader import load_image

    trim_heap = _heap_trimmer()
    while True:
        trim_heap()  # the last file's memory goes back to the system while we wait
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        path, frame = request if isinstance(request, tuple) else (request, 0)
        try:
            image = load_image(path, frame)
        except ImageLoadError as exc:
            conn.send(("error", type(exc).__name__, str(exc)))
            continue
        except MemoryError:
            conn.send(("error", "ImageTooLargeError", f"{Path(path).name}: not enough memory to decode this image"))
            continue
        try:
            reply = _share(image)
        except MemoryError:
            conn.send(("error", "ImageTooLargeError", f"{Path(path).name}: not enough memory to decode this image"))
            continue
        del image  # before answering: the parent's analysis of a large film must not find two copies resident
        conn.send(reply)


def _share(image: LoadedImage) -> tuple:
    """Copy the pixels into a new shared-memory block; the reply that names it."""
    from multiprocessing import resource_tracker

    pixels = np.ascontiguousarray(image.pixels, dtype=np.float32)
    block = shared_memory.SharedMemory(create=True, size=max(pixels.nbytes, 1))
    try:
        np.ndarray(pixels.shape, np.float32, buffer=block.buf)[...] = pixels
        # The parent unlinks the block once it has it; our tracker must not do it too.
        resource_tracker.unregister(block._name, "shared_memory")  # noqa: SLF001
    finally:
        block.close()
    fields = {f.name: getattr(image, f.name) for f in dataclasses.fields(image) if f.name != "pixels"}
    fields["metadata"] = dict(image.metadata)
    return ("ok", fields, block.name, pixels.shape)


# ----- the parent -----------------------------------------------------------------------------
@contextlib.contextmanager
def _main_module_hidden() -> Iterator[None]:
    """Spawn re-runs the parent's ``__main__`` in the child unless it cannot find it.

    The decoder needs nothing from it, and a script with top-level code (a GUI
    started by ``python script.py``) would start a second application inside the
    decoder and hang it. multiprocessing finds the main module through
    ``__spec__`` and ``__file__``; both are hidden while the child starts.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {name: main.__dict__[name] for name in ("__spec__", "__file__") if name in main.__dict__}
    main.__dict__["__spec__"] = None
    main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class _Decoder:
    """One child process and the pipe to it."""

    def __init__(self, context, memory_limit: int) -> None:
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_decoder_main, args=(child_conn, memory_limit),
                                       name="cxr-decoder", daemon=True)
        with _STARTING, _main_module_hidden():
            self.process.start()
        child_conn.close()
        self.files = 0  # answered so far

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except (OSError, ValueError):
                pass
        self.process.join(timeout=2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2.0)
        self.conn.close()


class DecoderPool:
    """A few decoder processes; ``load`` is safe to call from several threads at once."""

    def __init__(self, processes: int = 2, timeout_s: float = DEFAULT_TIMEOUT_S,
                 memory_limit: int = DEFAULT_MEMORY_LIMIT, files_per_decoder: int = FILES_PER_DECODER) -> None:
        self.timeout_s = timeout_s
        self.memory_limit = memory_limit
        self.files_per_decoder = files_per_decoder
        self._context = mp.get_context("spawn")
        self._idle: queue.LifoQueue[_Decoder | None] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._all: list[_Decoder] = []
        self._closed = False
        for _ in range(max(1, processes)):
            self._idle.put(None)  # a slot: the process starts on first use

    def load(self, path: str | Path, frame: int = 0) -> LoadedImage:
        """Frame ``frame`` (0-based) of ``path``: only that frame is decoded."""
        path = Path(path)
        if self._closed:
            raise RuntimeError("the decoder pool is closed")
        decoder = self._idle.get()
        try:
            decoder = decoder if decoder is not None and decoder.alive() else self._start()
            reply = self._ask(decoder, path, frame)
        except BaseException:
            # Crashed, hung or interrupted mid-file: that child's state is unknown.
            self._retire(decoder)
            self._idle.put(None)
            raise
        decoder.files += 1
        if decoder.files >= self.files_per_decoder:  # see FILES_PER_DECODER
            self._retire(decoder, kill=False)
            decoder = None
        self._idle.put(decoder)  # a clean answer, error or image: the child stays for the next file
        return _image_from(reply, path)

    def prestart(self) -> None:
        """Start a decoder now rather than on the first ``load``: its interpreter start and
        imports (about 0.4 s) then overlap with what the caller does meanwhile (`cxr predict`
        imports torch and loads the model)."""
        if self._closed:
            return
        decoder = self._idle.get()
        try:
            if decoder is None or not decoder.alive():
                decoder = self._start()
        except BaseException:
            self._idle.put(None)
            raise
        self._idle.put(decoder)

    def _start(self) -> _Decoder:
        decoder = _Decoder(self._context, self.memory_limit)
        with self._lock:
            self._all.append(decoder)
        return decoder

    def _retire(self, decoder: _Decoder | None, kill: bool = True) -> None:
        if decoder is None:
            return
        decoder.stop(kill=kill)
        with self._lock:
            if decoder in self._all:
                self._all.remove(decoder)

    def _ask(self, decoder: _Decoder, path: Path, frame: int = 0) -> tuple:
        try:
            decoder.conn.send((str(path), int(frame)))
            ready = decoder.conn.poll(self.timeout_s)
        except (OSError, EOFError):
            ready = False
        if not ready:
            if decoder.alive():
                raise CorruptImageError(f"{path.name}: decoding took longer than {self.timeout_s:.0f} s; "
                                        "the file is probably damaged")
            raise CorruptImageError(f"{path.name}: the decoder crashed on this file ({_how(decoder)}); "
                                    "the file is probably damaged")
        try:
            return decoder.conn.recv()
        except (EOFError, OSError):
            decoder.process.join(timeout=1.0)
            raise CorruptImageError(f"{path.name}: the decoder crashed on this file ({_how(decoder)}); "
                                    "the file is probably damaged") from None

    def close(self) -> None:
        self._closed = True
        with self._lock:
            decoders, self._all = list(self._all), []
        for decoder in decoders:
            decoder.stop()

    def pids(self) -> list[int]:
        with self._lock:
            return [d.process.pid for d in self._all if d.process.pid is not None]


def _how(decoder: _Decoder) -> str:
    code = decoder.process.exitcode
    if code is None:
        return "no answer"
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def _image_from(reply: tuple, path: Path) -> LoadedImage:
    if reply[0] == "error":
        _, name, message = reply
        raise _ERROR_TYPES.get(name, ImageLoadError)(message)
    _, fields, block_name, shape = reply
    return LoadedImage(pixels=_take_pixels(block_name, shape), **fields)


def _take_pixels(block_name: str, shape: tuple[int, ...]) -> np.ndarray:
    """The pixels in a block the decoder filled; the block's name is removed at once.

    On POSIX the array maps the block itself (no copy: a large film is held once,
    not twice) and the memory goes when the array does. Elsewhere it is copied.
    """
    count = int(np.prod(shape))
    try:
        import _posixshmem
    except ImportError:
        _posixshmem = None
    if _posixshmem is None:
        block = shared_memory.SharedMemory(name=block_name)
        try:
            return np.ndarray(shape, np.float32, buffer=block.buf).copy()
        finally:
            block.close()
            block.unlink()
    name = block_name if block_name.startswith("/") else "/" + block_name
    fd = _posixshmem.shm_open(name, os.O_RDWR, mode=0o600)
    try:
        mapping = mmap.mmap(fd, max(count * 4, 1))
    finally:
        os.close(fd)
        _posixshmem.shm_unlink(name)
    return np.frombuffer(mapping, np.float32, count=count).reshape(shape)


# ----- one pool per process -------------------------------------------------------------------
_DEFAULT: DecoderPool | None = None
_DEFAULT_LOCK = threading.Lock()


def default_pool() -> DecoderPool:
    """The process-wide pool (started on first use, closed at exit)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            processes = int(os.environ.get("CXR_DECODERS", "2"))
            _DEFAULT = DecoderPool(processes=processes)
            atexit.register(_DEFAULT.close)
        return _DEFAULT


def prestart_decoder() -> None:
    """Start one decoder of the default pool ahead of the first load (nothing with CXR_DECODERS=0)."""
    if os.environ.get("CXR_DECODERS") != "0":
        default_pool().prestart()


def load_image_isolated(path: str | Path, frame: int = 0) -> LoadedImage:
    """``load_image`` in a decoder process: a crash, hang or memory blow-up becomes an ImageLoadError.

    CXR_DECODERS=0 decodes in this process instead (debugging only: a decoder crash then
    ends the program).
    """
    if os.environ.get("CXR_DECODERS") == "0":
        from .loader import load_image

        return load_image(path, frame)
    return default_pool().load(path, frame)
