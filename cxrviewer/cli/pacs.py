"""`cxr pacs find|predict`: studies on a PACS (DICOMweb), and the model's reading of their images.

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
from cxrviewer.pacs.node import DEFAULT_TIMEOUT_S, DicomWebNode
from cxrviewer.pacs.query import DEFAULT_MODALITIES, parse_modalities

ENV_PASSWORD, ENV_TOKEN = "CXR_PACS_PASSWORD", "CXR_PACS_TOKEN"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("Exit status: 0 ok, 1 some study or image failed, 2 usage error, unreachable node or "
                     f"refused credentials. Password: ${ENV_PASSWORD}; bearer token: ${ENV_TOKEN}.")
    sub = parser.add_subparsers(dest="pacs_command", metavar="ACTION", required=True)
    from . import pacs_find, pacs_predict

    for name, module, help_text in (("find", pacs_find, "find studies (QIDO-RS)"),
                                    ("predict", pacs_predict, "retrieve studies, run the model, optionally "
                                                              "send the results back (STOW-RS)")):
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=parser.epilog)
        add_node_arguments(p)
        module.add_arguments(p)
        p.set_defaults(_pacs_run=module.run)


def add_node_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="DICOMweb base URL, e.g. http://pacs:8042/dicom-web")
    parser.add_argument("--user", help=f"user for HTTP basic auth (password from ${ENV_PASSWORD})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
                        help=f"seconds to wait for a connection or a reply (default {DEFAULT_TIMEOUT_S:g})")
    parser.add_argument("--modality", type=parse_modalities, default=DEFAULT_MODALITIES, metavar="LIST",
                        help="modalities to look for, comma-separated (default CR,DX)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")


def run(args: argparse.Namespace) -> int:
    return int(args._pacs_run(args))


def node_from_args(args: argparse.Namespace) -> DicomWebNode:
    password = os.environ.get(ENV_PASSWORD) if args.user else None
    token = None if args.user else (os.environ.get(ENV_TOKEN) or None)
    return DicomWebNode(args.url, username=args.user, password=password, token=token, timeout_s=args.timeout)


def complain(command: str, error: PacsError | str) -> None:
    print(f"cxr pacs {command}: {error}", file=sys.stderr, flush=True)
