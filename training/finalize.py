"""After the epochs: temperature on val, OOD statistics on train, export, metrics, model card."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from cxrviewer.io import load_image
from cxrviewer.io.formats import is_image_file
from cxrviewer.model.calibration import fit_temperature
from cxrviewer.model.export import export_model_dir
from cxrviewer.model.onnx_export import add_runtime_graph
from cxrviewer.model.ood import MahalanobisOOD, threshold_from_scores
from cxrviewer.model.predictor import Predictor

from . import metrics
from .card import render_card
from .datasets import ImageDataset
from .engine import EpochOutputs, evaluate

log = logging.getLogger("training")

MODEL_SUBDIR = "model"
REPORT_COLUMNS = ("source", "age_group", "subtype")


def finalize_run(session, model, state: dict[str, Any]) -> Path:
    val = _outputs(session, model, session.val_set, "calibrate")
    temperature = fit_temperature(torch.from_numpy(val.logits), torch.from_numpy(val.labels))
    fit = _outputs(session, model, session.train_fit_set, "OOD fit")
    ood = MahalanobisOOD.fit(fit.features, fit.labels, len(session.labels))
    val_scores = ood.score(torch.from_numpy(val.features)).numpy()
    threshold = threshold_from_scores(val_scores, session.opt.ood_keep_fraction)
    log.info("temperature %.3f, OOD threshold %.2f (keeps %.1f%% of val)", temperature, threshold,
             100 * session.opt.ood_keep_fraction)
    model_dir = session.out / MODEL_SUBDIR
    training = training_record(session, state)
    training["calibration"] = {"temperature": temperature, "ood_threshold": threshold,
                               "ood_keep_fraction_of_val": session.opt.ood_keep_fraction}
    model.cpu().eval()
    args = (model_dir, model, session.labels, session.preprocessing, temperature, ood, threshold)
    export_model_dir(*args, training=training, card="(being written)\n")
    results = evaluate_exported(session, model_dir)
    training["metrics"] = results
    card = render_card(session.labels, session.preprocessing, training, results, ood_layer=model.ood_layer)
    export_model_dir(*args, training=training, card=card)
    add_runtime_graph(model_dir)
    log.info("model directory written: %s", model_dir)
    return model_dir


def _outputs(session, model, dataset, desc: str) -> EpochOutputs:
    loader = DataLoader(dataset, batch_size=session.opt.batch_size, num_workers=session._workers())
    return evaluate(model, loader, session.device, session.start_stage, True, session.show_progress, desc)


def evaluate_exported(session, model_dir: Path) -> dict[str, Any]:
    """Metrics of the exported model through the Predictor, i.e. exactly what the viewer will do."""
    predictor = Predictor.from_dir(model_dir, device=session.device, lung_dir=session.opt.lung_model)
    splits = ["val"] + (["test"] if session.args.report_test and session.splits["test"] else [])
    results: dict[str, Any] = {}
    for split in splits:
        results[split] = _split_metrics(session, predictor, split)
        summary = results[split]
        if summary["failed"]:
            first = summary["failed"][0]
            log.warning("%s: %d image(s) could not be evaluated, e.g. %s: %s", split, len(summary["failed"]),
                        first["path"], first["reason"])
        # Metrics are None where undefined (an empty split, every image failed): log them as n/a.
        ood = summary["ood_fraction"]
        log.info("%s: macro-F1 %s, macro AUC %s, ECE %s, flagged OOD %s", split, _fmt(summary["macro_f1"]),
                 _fmt(summary["macro_auc"]), _fmt(summary["ece"]), "n/a" if ood is None else f"{100 * ood:.2f}%")
    if session.args.ood_probe:
        results["ood_probe"] = probe_ood(predictor, session.args.ood_probe)
    return results


def _split_metrics(session, predictor: Predictor, split: str) -> dict[str, Any]:
    """`cxr evaluate`'s result for one split: the same functions, so model.json and the CLI share one schema."""
    from .evaluate import Item, build_results, predict_items

    samples = session.splits[split]
    columns = [c for c in REPORT_COLUMNS if any(s.extras.get(c) for s in samples)]
    items = [Item(s.path, s.path.name, s.label, {c: s.extras.get(c, "") for c in columns}) for s in samples]
    run = predict_items(predictor, items, session.opt.batch_size)
    results, _, _ = build_results(run, predictor.labels, {n: n for n in predictor.labels}, columns, {"split": split})
    return results


def probe_ood(predictor: Predictor, folder: Path) -> list[dict[str, Any]]:
    """OOD score and flag for each image in a folder of known non-chest images."""
    rows = []
    for path in sorted(p for p in Path(folder).iterdir() if p.is_file() and is_image_file(p)):
        prediction = predictor.predict([load_image(path)])[0]
        rows.append({"file": path.name, "ood_score": prediction.ood_score, "ood_flag": prediction.ood_flag})
    return rows


def training_record(session, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "command": session.command,
        "git_commit": git_commit(),
        "data": Path(session.data.description).name,
        "manifest_sha256": session.data.manifest_sha256,
        "options": session.opt.to_dict(),
        "hflip": session.args.hflip,
        "balanced_sampler": session.args.balanced_sampler,
        "class_weights": not session.args.no_class_weights,
        "split_sizes": {k: len(v) for k, v in session.splits.items()},
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epoch"],
        "history": state["history"],
        "torch": torch.__version__,
    }


def git_commit() -> str:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
