"""`cxr pacs echo|find|predict`: studies on a PACS (DICOMweb, or DIMSE with ``--dimse``), and the
model's reading of their images.

Credentials never go on the command line (other users can read it): ``--user NAME``
takes its password from $CXR_PACS_PASSWORD; without a user, $CXR_PACS_TOKEN (if set)
is sent as a bearer token. Exit status: 0 ok, 1 some study or image failed (or none
found), 2 usage error, unreachable node or refused credentials. Research use only,
not for diagnosis.
"""

from __future__ import annotations

import argparse
import os
import sys

from cxrviewer.pacs.errors import PacsError
from cxrviewer.pacs.client import PacsClient, client_for
from cxrviewer.pacs.node import DEFAULT_OUR_AET, DEFAULT_TIMEOUT_S, DicomWebNode, DimseNode
from cxrviewer.pacs.query import DEFAULT_MODALITIES, parse_modalities

ENV_PASSWORD, ENV_TOKEN = "CXR_PACS_PASSWORD", "CXR_PACS_TOKEN"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Exit status: 0 ok, 1 some study or image failed, 2 usage error, unreachable node or "
                     f"refused credentials. Password: ${ENV_PASSWORD}; bearer token: ${ENV_TOKEN}.")
    sub = parser.add_subparsers(dest="pacs_command", metavar="ACTION", required=True)
    from . import pacs_echo, pacs_find, pacs_predict

    for name, module, help_text in (("echo", pacs_echo, "check that the node answers and takes our credentials "
                                                        "(C-ECHO, or a one-study QIDO-RS search)"),
                                    ("find", pacs_find, "find studies (QIDO-RS or C-FIND)"),
                                    ("predict", pacs_predict, "retrieve studies, run the model, optionally "
                                                              "send the results back (STOW-RS or C-STORE)")):
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=parser.epilog)
        add_node_arguments(p)
        module.add_arguments(p)
        p.set_defaults(_pacs_run=module.run)


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="DICOMweb base URL, e.g. http://pacs:8042/dicom-web")
    where.add_argument("--dimse", metavar="AET@HOST:PORT", help="a DIMSE node instead (C-FIND, C-GET, C-STORE)")
    parser.add_argument("--user", help=f"user for HTTP basic auth with --url (password from ${ENV_PASSWORD})")
    parser.add_argument("--aet", default=DEFAULT_OUR_AET,
                        help=f"our AE title with --dimse (default {DEFAULT_OUR_AET}; the PACS must know it)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help=f"seconds to wait for a connection or a reply (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--modality", type=parse_modalities, default=DEFAULT_MODALITIES, metavar="LIST",
                        help="modalities to look for, comma-separated (default CR,DX)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace) -> int:
    return int(args._pacs_run(args))


def client_from_args(args: argparse.Namespace) -> PacsClient:
    """The node the arguments name (PacsError when they do not fit together)."""
    if getattr(args, "dimse", None):
        if args.user:
            raise PacsError("--user goes with --url (a DIMSE node knows us by --aet)")
        return client_for(DimseNode.parse(args.dimse, our_ae_title=args.aet, timeout_s=args.timeout))
    return client_for(node_from_args(args))


def node_from_args(args: argparse.Namespace) -> DicomWebNode:
    password = os.environ.get(ENV_PASSWORD) if args.user else None
    token = None if args.user else (os.environ.get(ENV_TOKEN) or None)
    return DicomWebNode(args.url, username=args.user, password=password, token=token, timeout_s=args.timeout)


def complain(command: str, error: PacsError | str) -> None:
    print(f"cxr pacs {command}: {error}", file=sys.stderr, flush=True)
