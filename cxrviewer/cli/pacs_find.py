"""`cxr pacs find`: the studies matching a search, one line (or JSON object) each, newest first.

The lines hold patient data (the user asked for it); nothing of it is logged.
"""

from __future__ import annotations

import argparse
import json

from cxrviewer.pacs.errors import PacsError
from cxrviewer.pacs.query import DEFAULT_LIMIT, StudyQuery, StudySummary, parse_date

from .pacs import EXIT_FAILED, EXIT_OK, EXIT_USAGE, client_from_args, complain

JSON_KEYS = ("study_uid", "patient_id", "patient_name", "accession", "study_date", "description", "modalities",
             "series", "instances")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--patient-id", metavar="ID")
    parser.add_argument("--patient-name", metavar="NAME", help="DICOM wildcards allowed (DOE^J*)")
    parser.add_argument("--accession", metavar="A")
    parser.add_argument("--study", metavar="UID", help="Study Instance UID")
    parser.add_argument("--date-from", metavar="YYYY-MM-DD")
    parser.add_argument("--date-to", metavar="YYYY-MM-DD")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, metavar="N",
                        help=f"at most N studies (default {DEFAULT_LIMIT})")


def run(args: argparse.Namespace) -> int:
    try:
        query = StudyQuery(patient_id=args.patient_id, patient_name=args.patient_name, accession=args.accession,
                           study_uid=args.study, date_from=_date(args.date_from), date_to=_date(args.date_to),
                           modalities=args.modality, limit=args.limit)
        studies = client_from_args(args).find_studies(query)
    except PacsError as exc:  # a bad argument, an unreachable node, refused credentials: fix the call
        complain("find", exc)
        return EXIT_USAGE
    for study in studies:
        print(json.dumps(study.to_json()) if args.json else _text_line(study), flush=True)
    if not studies:
        complain("find", "no matching studies")
        return EXIT_FAILED
    return EXIT_OK


def _date(text: str | None):
    return parse_date(text) if text else None


def _text_line(study: StudySummary) -> str:
    counts = f"{study.series if study.series is not None else '?'} series, " \
             f"{study.instances if study.instances is not None else '?'} instances"
    return (f"{study.study_uid}  {study.study_date or '--------'}  {study.patient_id or '-'}  "
            f"{study.patient_name or '-'}  acc {study.accession or '-'}  {'/'.join(study.modalities) or '-'}  "
            f"{counts}  {study.description}").rstrip()
