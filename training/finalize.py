"""After the epochs: temperature on val, OOD statistics on train, export, metrics, model card."""

from __future__ import annotations

import logging
import shlex
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from cxrviewer.io import load_image
from cxrviewer.model.calibration import fit_temperature
from cxrviewer.model.export import export_model_dir
from cxrviewer.model.ood import MahalanobisOOD, threshold_from_scores
from cxrviewer.model.predictor import Predictor

from . import metrics
from .card import render_card
from .data import IMAGE_SUFFIXES
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
    threshold = threshold_from_scores(val_scores, session.opt["ood_keep_fraction"])
    log.info("temperature %.3f, OOD threshold %.2f (keeps %.1f%% of val)", temperature, threshold,
             100 * session.opt["ood_keep_fraction"])
    model_dir = session.out / MODEL_SUBDIR
    training = training_record(session, state)
    training["calibration"] = {"temperature": temperature, "ood_threshold": threshold,
                               "ood_keep_fraction_of_val": session.opt["ood_keep_fraction"]}
    model.cpu().eval()
    args = (model_dir, model, session.labels, session.preprocessing, temperature, ood, threshold)
    export_model_dir(*args, training=training, card="(being written)\n")
    results = evaluate_exported(session, model_dir)
    training["metrics"] = results
    card = render_card(session.labels, session.preprocessing, training, results, ood_layer=model.ood_layer)
    export_model_dir(*args, training=training, card=card)
    log.info("model directory written: %s", model_dir)
    return model_dir


def _outputs(session, model, dataset, desc: str) -> EpochOutputs:
    loader = DataLoader(dataset, batch_size=session.opt["batch_size"], num_workers=session._workers())
    return evaluate(model, loader, session.device, session.start_stage, True, session.show_progress, desc)


def evaluate_exported(session, model_dir: Path) -> dict[str, Any]:
    """Metrics of the exported model through the Predictor, i.e. exactly what the viewer will do."""
    predictor = Predictor.from_dir(model_dir, device=session.device)
    splits = ["val"] + (["test"] if session.args.report_test and session.splits["test"] else [])
    results: dict[str, Any] = {}
    for split in splits:
        results[split] = _split_metrics(session, predictor, split)
        summary = results[split]["overall"]
        # Metrics are None where undefined (an empty split, a missing class): log them as n/a.
        log.info("%s: macro-F1 %s, macro AUC %s, ECE %s, flagged OOD %.2f%%", split, _fmt(summary["macro_f1"]),
                 _fmt(summary["macro_auc"]), _fmt(summary["ece"]), 100 * results[split]["ood_fraction"])
    if session.args.ood_probe:
        results["ood_probe"] = probe_ood(predictor, session.args.ood_probe)
    return results


def _split_metrics(session, predictor: Predictor, split: str) -> dict[str, Any]:
    samples = session.splits[split]
    dataset = ImageDataset(samples, session.label_ids(split), predictor.config.preprocessing)
    loader = DataLoader(dataset, batch_size=session.opt["batch_size"], num_workers=session.opt["workers"])
    probabilities, flags = [], []
    for inputs, _, _ in loader:
        for p in predictor.predict_arrays(inputs.numpy()):
            probabilities.append([p.probabilities[name] for name in predictor.labels])
            flags.append(p.ood_flag)
    probs = np.asarray(probabilities)
    labels = np.asarray(session.label_ids(split))
    columns = {c: [s.extras.get(c, "") for s in samples] for c in REPORT_COLUMNS if any(s.extras.get(c) for s in samples)}
    return {
        "overall": metrics.classification_metrics(labels, probs, session.labels),
        "subgroups": metrics.subgroup_metrics(labels, probs, session.labels, columns, flags) if columns else {},
        "ood_fraction": float(np.mean(flags)) if flags else 0.0,
    }


def probe_ood(predictor: Predictor, folder: Path) -> list[dict[str, Any]]:
    """OOD score and flag for each image in a folder of known non-chest images."""
    rows = []
    for path in sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        prediction = predictor.predict([load_image(path)])[0]
        rows.append({"file": path.name, "ood_score": prediction.ood_score, "ood_flag": prediction.ood_flag})
    return rows


def training_record(session, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "command": command_line(session.args),
        "git_commit": git_commit(),
        "data": Path(session.data.description).name,
        "manifest_sha256": session.data.manifest_sha256,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in session.opt.items()},
        "hflip": session.args.hflip,
        "balanced_sampler": session.args.balanced_sampler,
        "class_weights": not session.args.no_class_weights,
        "split_sizes": {k: len(v) for k, v in session.splits.items()},
        "best_epoch": state["best_epoch"],
        "epochs_run": state["epoch"],
        "history": state["history"],
        "torch": torch.__version__,
    }


def command_line(args) -> str:
    """The `cxr train` command that reproduces this run: every option that differs from its default.

    Rebuilt from the parsed arguments rather than sys.argv, so it is right however
    the run was started (cxr, python -m training.train, torchrun, a test).
    """
    from .train import get_args_parser

    words = ["cxr", "train"]
    for action in get_args_parser(add_help=False)._actions:
        if not action.option_strings or not hasattr(args, action.dest):
            continue
        value = getattr(args, action.dest)
        if value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        words += [flag] if action.nargs == 0 else [flag, str(value)]
    return shlex.join(words)


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
