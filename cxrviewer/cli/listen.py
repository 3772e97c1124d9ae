"""`cxr listen`: a DICOM C-STORE receiver that reads each chest radiograph it is sent.

    cxr listen --aet CXRAI --port 11112 [--forward-url URL [--user U] | --forward-aet AET@HOST:PORT]
               [--out DIR] [--model DIR] [--queue-size N] [--order suspicious|newest]

CR and DX images (for presentation) are queued and read one at a time by the model, as
`cxr predict` reads them (sandboxed decoding); anything else is accepted and skipped
with a message. With a forward node, each reading goes on as a Comprehensive SR and a
heat-map Secondary Capture in the image's study (STOW-RS to ``--forward-url``, or
C-STORE to ``--forward-aet``, calling as ``--aet``). ``--out`` holds the received images
and the triage worklist (worklist.json, worklist.csv), which the viewer opens as its AI
inbox (File ▸ Open AI inbox…). The worklist and the images hold patient data; the
messages printed here do not.

SIGTERM or SIGINT (Ctrl+C) stop it: no new images are accepted, the one being read is
finished, the ones still waiting are marked "abandoned" in the worklist; exit 0.
Exit 2: a usage error, the port cannot be had, no usable model, or the forward node
does not answer C-ECHO. Research use only, not for diagnosis.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from cxrviewer.model.cam_options import CAM_METHODS, GRADCAM
from cxrviewer.pacs.errors import PacsError
from cxrviewer.pacs.listener import DEFAULT_QUEUE, DEFAULT_TIMEOUT_S, ListenerConfig, ListenerEvent, StoreListener
from cxrviewer.pacs.node import DEFAULT_TIMEOUT_S as NODE_TIMEOUT_S
from cxrviewer.pacs.node import DicomWebNode, DimseNode
from cxrviewer.pacs.query import DEFAULT_MODALITIES, parse_modalities
from cxrviewer.pacs.worklist import ORDERS, SUSPICIOUS

from .pacs import ENV_PASSWORD, ENV_TOKEN

EXIT_OK, EXIT_USAGE = 0, 2
DEVICES = ("auto", "cpu", "cuda", "mps")
READY_LINE = "cxr listen: listening"  # printed once the port is bound and the model loaded (tests wait for it)


def default_out_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "cxrviewer" / "inbox"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Stops on SIGTERM/SIGINT (exit 0). Exit 2: usage error, port taken, no usable model, forward "
                     f"node not answering. Password for --user: ${ENV_PASSWORD}; bearer token: ${ENV_TOKEN}. "
                     "Research use only, not for diagnosis.")
    parser.add_argument("--aet", required=True, help="our AE title (also the calling AE title when forwarding)")
    parser.add_argument("--port", required=True, type=int, help="TCP port to listen on")
    parser.add_argument("--bind", default="0.0.0.0", metavar="HOST",
                        help="address to listen on (default 0.0.0.0: every interface)")
    forward = parser.add_mutually_exclusive_group()
    forward.add_argument("--forward-url", metavar="URL", help="DICOMweb base URL to store the results (STOW-RS)")
    forward.add_argument("--forward-aet", metavar="AET@HOST:PORT", help="DICOM node to store the results (C-STORE)")
    parser.add_argument("--user", help=f"user for --forward-url (password from ${ENV_PASSWORD})")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help=f"received images and the worklist (default {default_out_dir()})")
    parser.add_argument("--order", choices=ORDERS, default=SUSPICIOUS,
                        help="worklist order (default: most suspicious first)")
    parser.add_argument("--modality", type=parse_modalities, default=DEFAULT_MODALITIES, metavar="LIST",
                        help="modalities to read (default CR,DX)")
    parser.add_argument("--queue-size", type=int, default=DEFAULT_QUEUE, metavar="N",
                        help=f"images waiting at most; beyond, senders are asked to retry (default {DEFAULT_QUEUE})")
    parser.add_argument("--store-mb", type=int, default=4096, metavar="MB",
                        help="bound on the received images kept in --out (default 4096, oldest out first)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help=f"DICOM network time-outs, and the forward node's (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--model", metavar="DIR", type=Path, help="model directory (default: the bundled model)")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--cam-method", choices=CAM_METHODS, default=GRADCAM,
                        help="CAM method of the heat map forwarded (default: gradcam)")


def run(args: argparse.Namespace) -> int:
    try:
        config = ListenerConfig(args.aet, args.port, args.out or default_out_dir(), host=args.bind,
                                queue_size=args.queue_size, timeout_s=args.timeout, modalities=args.modality,
                                order=args.order, image_store_bytes=max(1, args.store_mb) * 2**20)
        target = _forward_target(args)
    except PacsError as exc:
        return _usage(exc)
    from . import predict  # torch: only once the arguments are known good

    engine = predict._load_engine(args.model, args.device, prog="cxr listen")
    if engine is None:
        return EXIT_USAGE
    forward = None
    if target is not None:
        from cxrviewer.pacs.send import ResultSender

        sender = ResultSender(target, engine.info.model_dir)

        def forward(ref, record, result, image) -> None:
            cam = None if result is None else result.cam
            sender.send(ref, record, image, cam, 1.0 if result is None else result.cam_strength)

    read = _reader(engine, args.cam_method, wants_cam=forward is not None)
    listener = StoreListener(config, read, forward, report=_print_event)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            listener.start()
        except PacsError as exc:
            return _usage(exc)
        where = f" forwarding to {args.forward_url or args.forward_aet}" if target is not None else ""
        print(f"{READY_LINE} as {config.ae_title} on {config.host}:{config.port}{where}; worklist in {config.out_dir} "
              f"(model {engine.info.architecture} on {engine.info.device_name}; research use only)",
              file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
        print(f"cxr listen: stopping ({listener.pending()} image(s) waiting or being read)", file=sys.stderr,
              flush=True)
        listener.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    c = listener.counts
    print(f"cxr listen: stopped: {c.received} image(s) received, {c.read} read, {c.failed} failed, "
          f"{c.skipped} skipped, {c.refused} refused, {c.abandoned} abandoned"
          + (f", results forwarded for {c.forwarded}, not for {c.not_forwarded}" if target is not None else ""),
          file=sys.stderr, flush=True)
    return EXIT_OK


def _forward_target(args):
    """The results' destination (a store target for ResultSender), checked now; None without one."""
    if args.user and not args.forward_url:
        raise PacsError("--user goes with --forward-url")
    timeout = args.timeout if args.timeout else NODE_TIMEOUT_S
    if args.forward_url:
        from cxrviewer.pacs.dicomweb import DicomWebPacs

        password = os.environ.get(ENV_PASSWORD) if args.user else None
        token = None if args.user else (os.environ.get(ENV_TOKEN) or None)
        return DicomWebPacs(DicomWebNode(args.forward_url, username=args.user, password=password, token=token,
                                         timeout_s=timeout))
    if args.forward_aet:
        from cxrviewer.pacs import dimse

        node = DimseNode.parse(args.forward_aet, our_ae_title=args.aet, timeout_s=timeout)
        dimse.echo(node)  # a wrong port or an AE title the node does not know: say so now, not per image
        return dimse.DimseStore(node)
    return None


def _reader(engine, cam_method: str, wants_cam: bool):
    from . import predict

    options = argparse.Namespace(cam_dir=None, cam_raw=None, lung_dir=None, cam_method=cam_method)

    def read(path: Path):
        batch = next(predict._loaded_batches([path], 1))
        record, result, image = next(predict.predict_batch_detailed(engine, batch, options, None, wants_cam))
        return record, result, image

    return read


def _print_event(event: ListenerEvent) -> None:
    print(f"cxr listen: #{event.number}: {event.text}", file=sys.stderr, flush=True)


def _usage(error: PacsError | str) -> int:
    print(f"cxr listen: {error}", file=sys.stderr, flush=True)
    return EXIT_USAGE
