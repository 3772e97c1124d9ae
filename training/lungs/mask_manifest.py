"""Add drawn lung and infection masks to a training manifest, for the CAM losses.

    python -m training.lungs.mask_manifest --images ../shared/data/cxr3/labels.csv \\
        --masks ../shared/data/lungs/labels.csv --link cxr3_path --out runs/cxr3-masks.csv

Every row of ``--images`` is kept as it is; rows that a row of ``--masks`` names in its
``--link`` column (a path relative to the images CSV) get that row's ``lung_mask`` and
``infection_mask``. Masks are taken on the image's normalised grid (training.lung_masks),
so a mask drawn on a resized copy of the same film fits. Paths in the output are
absolute, so it works from any folder. A row linked with another label or split is an
error: the masks would then cross the split the test numbers depend on.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
from pathlib import Path

from cxrviewer.atomic_files import atomic_write_bytes

log = logging.getLogger("training")

MASK_FIELDS = ("lung_mask", "infection_mask")


class MaskManifestError(ValueError):
    pass


def merged_rows(images_csv: Path, masks_csv: Path, link: str) -> tuple[list[str], list[dict]]:
    images_root, masks_root = images_csv.parent.resolve(), masks_csv.parent.resolve()
    with open(images_csv, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields, rows = list(reader.fieldnames or []), list(reader)
    with open(masks_csv, newline="", encoding="utf-8-sig") as fh:
        masks = list(csv.DictReader(fh))
    if masks and link not in masks[0]:
        raise MaskManifestError(f"{masks_csv.name} has no column {link!r}")
    by_path = {m[link]: m for m in masks if m.get(link)}
    linked = 0
    for row in rows:
        mask_row = by_path.get(row["path"])
        for key in ("label", "split"):
            if mask_row is not None and key in row and mask_row.get(key) and mask_row[key] != row[key]:
                raise MaskManifestError(f"{row['path']}: {key} {row[key]!r} here, {mask_row[key]!r} in {masks_csv.name}")
        for field in MASK_FIELDS:
            value = (mask_row or {}).get(field, "")
            row[field] = str(masks_root / value) if value else row.get(field, "")
        row["path"] = str(images_root / row["path"])
        linked += mask_row is not None
    log.info("%d of %d rows got drawn masks", linked, len(rows))
    return fields + [f for f in MASK_FIELDS if f not in fields], rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", required=True, type=Path, help="the training manifest (path, label, ...)")
    parser.add_argument("--masks", required=True, type=Path, help="a CSV with lung_mask[, infection_mask] and --link")
    parser.add_argument("--link", default="cxr3_path", help="column of --masks naming the --images row's path")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        fields, rows = merged_rows(args.images, args.masks, args.link)
    except (OSError, MaskManifestError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out, text.getvalue().encode("utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
