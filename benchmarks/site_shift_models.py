"""The two reference models of bench_site_shift: an adult-only source model and a pediatric "oracle".

    python benchmarks/site_shift_models.py --work runs/site-shift [--epochs 12]

Both are trained with the shipped model's recipe (`cxr train --preset cpu-cached`,
see resources/models/cxr3-default/MODEL_CARD.md) on shared data only:

* source: every cxr3 image except `kermany_train` (adult hospitals), 3 classes;
* oracle: only `kermany_train` (the pediatric hospital), normal/pneumonia, i.e. what
  a site could reach with all of its ~4,100 labelled training images. One oracle per
  seed (``--oracle-seeds``): on the site's test split the same recipe gave 0.938 to
  0.962 macro-F1 from one seed to another, so one oracle alone is not a reference.

Runs are resumable (`--resume`); a finished model directory is reused as is.
"""

from __future__ import annotations

import argparse
import csv
import logging
from pathlib import Path

log = logging.getLogger("bench_site_shift")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CXR3 = SHARED / "cxr3" / "labels.csv"
SITE_SOURCE = "kermany_train"


def write_manifest(rows: list[dict], path: Path) -> Path:
    """A CSV with absolute image paths (so it works from any folder), written only when it changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(rows[0])
    lines = [",".join(fields)] + [",".join(row[f] for f in fields) for row in rows]
    text = "\n".join(lines) + "\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def cxr3_rows() -> list[dict]:
    with open(CXR3, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["path"] = str(CXR3.parent / row["path"])
    return rows


def manifests(work: Path) -> dict[str, Path]:
    rows = cxr3_rows()
    adult = [r for r in rows if r["source"] != SITE_SOURCE]
    site = [r for r in rows if r["source"] == SITE_SOURCE]
    return {"source": write_manifest(adult, work / "adult.csv"), "site": write_manifest(site, work / "pediatric.csv")}


def train(manifest: Path, out: Path, labels: str, epochs: int, seed: int = 0) -> Path:
    model_dir = out / "model"
    if (model_dir / "model.json").is_file():
        log.info("reusing %s", model_dir)
        return model_dir
    from training.train import get_args_parser, run

    argv = ["--data", str(manifest), "--out", str(out), "--preset", "cpu-cached", "--labels", labels,
            "--epochs", str(epochs), "--freeze-stages", "7", "--cache-views", "3", "--cache-stages", "7",
            "--patience", "4", "--resume", "--no-progress", "--skip-image-check", "--seed", str(seed)]
    code = run(get_args_parser().parse_args(argv))
    if code != 0:
        raise SystemExit(f"training {out} failed with exit code {code}")
    return model_dir


def oracle_dir(work: Path, seed: int) -> Path:
    return work / "oracle" if seed == 0 else work / f"oracle-seed{seed}"


def build_models(work: Path, epochs: int, oracle_seeds: tuple[int, ...] = (0,)) -> dict:
    """{"source": model dir, "oracles": {seed: model dir}}."""
    paths = manifests(work)
    return {
        "source": train(paths["source"], work / "source", "normal,pneumonia,covid", epochs),
        "oracles": {seed: train(paths["site"], oracle_dir(work, seed), "normal,pneumonia", epochs, seed)
                    for seed in oracle_seeds},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("runs/site-shift"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--oracle-seeds", default="0,1,2")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    print(build_models(args.work, args.epochs, tuple(int(s) for s in args.oracle_seeds.split(","))))


if __name__ == "__main__":
    main()
