"""`cxr pacs predict`: retrieve studies (WADO-RS, or C-GET with --dimse), read their images like
`cxr predict`, and with ``--send-results`` store an SR and a heat-map Secondary Capture per image
back (STOW-RS, or C-STORE).

Each line is a `cxr predict` record (same keys, same meaning; ``path`` is the cached file)
plus ``study_uid``, ``series_uid`` and ``sop_uid``. Decoding goes through the sandboxed
decoder pool, the model through `cxr predict`'s own batching. Messages about skipped
objects and failed studies go to stderr without patient data.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from cxrviewer.model.cam_options import CAM_METHODS, GRADCAM
from cxrviewer.pacs.cache import DEFAULT_MAX_BYTES, InstanceCache, check_uid
from cxrviewer.pacs.client import PacsClient
from cxrviewer.pacs.errors import PacsAuthError, PacsError, PacsUnreachable
from cxrviewer.pacs.query import StudyQuery
from cxrviewer.pacs.retrieve import InstanceRef

from .pacs import EXIT_FAILED, EXIT_OK, EXIT_USAGE, client_from_args, complain
from .pacs_results import CliResultSender

log = logging.getLogger(__name__)
UID_KEYS = ("study_uid", "series_uid", "sop_uid")  # after cxr predict's JSON_KEYS
DEVICES = ("auto", "cpu", "cuda", "mps")  # as cxr predict's; importing that module would slow `cxr pacs find`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--study", nargs="+", metavar="UID", help="Study Instance UID(s)")
    which.add_argument("--accession", nargs="+", metavar="A", help="accession number(s)")
    parser.add_argument("--send-results", action="store_true",
                        help="store an SR and a heat-map Secondary Capture per image back in its study")
    parser.add_argument("--model", metavar="DIR", type=Path, help="model directory (default: the bundled model)")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--cam-method", choices=CAM_METHODS, default=GRADCAM,
                        help="CAM method of the heat map sent back (default: gradcam)")
    parser.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                        help="images per forward pass (default: cxr predict's, chosen by measurement)")
    parser.add_argument("--cache-dir", type=Path, metavar="DIR",
                        help="where retrieved images are kept (default: $CXR_PACS_CACHE or the user cache folder)")
    parser.add_argument("--cache-size-mb", type=_positive_int, default=DEFAULT_MAX_BYTES // 2**20,
                        metavar="MB", help=f"cache bound (default {DEFAULT_MAX_BYTES // 2**20})")


def run(args: argparse.Namespace) -> int:
    try:
        pacs = client_from_args(args)
        cache = InstanceCache(args.cache_dir, args.cache_size_mb * 2**20)
        studies, failed = _study_uids(pacs, args)
    except PacsError as exc:  # bad arguments, unreachable node, refused credentials
        complain("predict", exc)
        return EXIT_USAGE
    if not studies:
        return EXIT_FAILED
    from . import predict  # the model's modules: only once there is something to read

    if args.batch_size is None:
        args.batch_size = predict.DEFAULT_BATCH_SIZE
    engine = predict._load_engine(args.model, args.device, prog="cxr pacs predict")
    if engine is None:
        return EXIT_USAGE
    sender = CliResultSender(pacs, engine.info.model_dir) if args.send_results else None
    total = 0
    for study_uid in studies:
        try:
            images, bad = _read_study(pacs, cache, study_uid, engine, args, sender)
        except (PacsUnreachable, PacsAuthError) as exc:  # the node went away: the rest would fail too
            complain("predict", exc)
            return EXIT_USAGE
        except PacsError as exc:  # this study: not found, no images, a reply we cannot use
            complain("predict", exc)
            failed += 1
            continue
        total, failed = total + images, failed + bad
    return EXIT_FAILED if failed or total == 0 else EXIT_OK


def _study_uids(pacs: PacsClient, args) -> tuple[list[str], int]:
    """The studies to read, and how many accessions found none."""
    if args.study:
        return list(dict.fromkeys(check_uid(uid, "Study Instance UID") for uid in args.study)), 0
    uids, missing = [], 0
    for accession in args.accession:
        found = pacs.find_studies(StudyQuery(accession=accession, modalities=args.modality))
        if not found:
            complain("predict", f"accession {accession}: no {'/'.join(args.modality)} study found")
            missing += 1
        uids.extend(s.study_uid for s in found)
    return list(dict.fromkeys(uids)), missing


def _read_study(pacs, cache, study_uid: str, engine, args, sender) -> tuple[int, int]:
    """(images read, failures) for one study; StudyProblem when it has nothing to read."""
    from . import predict

    study = pacs.retrieve(study_uid, cache, args.modality)
    for message in study.skipped:
        complain("predict", f"study {study_uid}: {message}")
    refs = {ref.path: ref for ref in study.images}
    options = argparse.Namespace(cam_dir=None, cam_raw=None, lung_dir=None, cam_method=args.cam_method)
    count = failed = 0
    for batch in predict._loaded_batches(list(refs), args.batch_size):
        for record, result, image in predict.predict_batch_detailed(engine, batch, options, None,
                                                                    wants_cam=sender is not None):
            ref = refs[Path(record["path"])]
            count += 1
            failed += not record["ok"]
            if sender is not None and record["ok"]:
                failed += not sender.send(ref, record, result, image)
            _print(_with_uids(record, ref), args.json)
    return count, failed


def _with_uids(record: dict, ref: InstanceRef) -> dict:
    return {**record, "study_uid": ref.study_uid, "series_uid": ref.series_uid, "sop_uid": ref.sop_uid}


def _print(record: dict, as_json: bool) -> None:
    from . import predict

    print(json.dumps(record, allow_nan=False) if as_json else predict._text_line(record), flush=True)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
