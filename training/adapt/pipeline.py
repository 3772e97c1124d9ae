"""One adaptation run end to end: site data -> cached features -> candidates -> choice -> refit -> export.

OUT becomes a model directory. While the run lasts, its working files live in
OUT/.adapt-work (feature caches, each candidate's out-of-fold logits, the options),
every one written atomically, so a killed or cancelled run resumes with --resume
and never leaves a loadable half-model: model.json is the last file written.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cxrviewer.atomic_files import atomic_write_bytes
from cxrviewer.model.config import CONFIG_FILE
from cxrviewer.model.export import export_model_dir
from cxrviewer.model.onnx_export import add_runtime_graph
from cxrviewer.model.predictor import Predictor, resolve_device

from ..data import DataError
from ..finalize import git_commit
from . import retention, summary
from .features import FeatureSet, extract
from .methods import METHOD_FUNCTIONS
from .options import AdaptOptions
from .selection import Candidate, base_candidate, choose, out_of_fold, out_of_fold_ood, share_better, site_ood
from .site_data import SiteData, load_site_data, make_folds, source_samples

log = logging.getLogger("training.adapt")

WORK_DIR = ".adapt-work"
REPORT_FILE = "adaptation.json"
REPORT_COLUMNS_MAX_VALUES = 20


class AdaptError(ValueError):
    """The run cannot start or go on as asked; the message says why and what to do."""


@dataclass(frozen=True)
class AdaptResult:
    model_dir: Path
    method: str
    record: dict


def run_adaptation(options: AdaptOptions, command: str = "", progress: Callable[..., None] | None = None) -> AdaptResult:
    progress = progress or (lambda *a, **k: None)
    _check_out(options)
    base = _load_base(options.model)
    site = load_site_data(options.data, base.labels, options.label_map, options.folds)
    work = _prepare_work(options)  # only now: bad data or labels leave no trace in OUT
    log.info("site data: %s; %d set aside (split=test)", site.counts, site.set_aside)
    device = resolve_device(options.device)
    site_features, source_features = _features(base, site, options, work, device, progress)
    folds = make_folds(site.label_ids, site.groups, options.folds, options.seed)
    candidates = _candidates(base, site_features, source_features, site, folds, options, work, progress)
    chosen = choose(candidates, site.label_ids, site.groups, options.seed)
    log.info("chosen method: %s", chosen.name)
    progress("fitting the final model", 0, 1)
    model, temperature, ood = _final_model(base, site, site_features, source_features, chosen, options, progress)
    kept = None
    if options.source_data is not None:
        progress("measuring what was kept of the base model's data", 0, 1)
        kept = retention.measure(base, model, temperature, options.source_data, work, device, options.seed,
                                 options.batch_size)
    record = _record(options, command, base, site, folds, candidates, chosen, site_features, kept)
    card = _card(record, options.model)
    progress("writing the model", 0, 1)
    export_model_dir(options.out, model, base.labels, base.config.preprocessing, temperature, ood,
                     base.config.ood.threshold, training=_training_record(base, record), card=card)
    add_runtime_graph(options.out)
    atomic_write_bytes(options.out / REPORT_FILE, (json.dumps(record, indent=2, allow_nan=False) + "\n").encode())
    if not options.keep_work:
        shutil.rmtree(work, ignore_errors=True)
    progress("done", 1, 1)
    return AdaptResult(options.out, chosen.name, record)


# ---------------------------------------------------------------- set-up

def _check_out(options: AdaptOptions) -> None:
    out = options.out
    if (out / CONFIG_FILE).exists():
        raise AdaptError(f"{out} already holds a model directory; choose another --out")
    if out.exists() and not out.is_dir():
        raise AdaptError(f"--out {out} exists and is not a folder")
    state = out / WORK_DIR / "options.json"
    if state.is_file():
        if not options.resume:
            raise AdaptError(f"{out} holds an unfinished adaptation; add --resume to continue it or choose another --out")
        saved, wanted = json.loads(state.read_text()), options.fingerprint()
        changed = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
        if changed:
            raise AdaptError(f"--resume: the run in {out} used other settings ({', '.join(changed)}); "
                             "give the same options or start again in another --out")
    elif out.exists() and any(p.name != WORK_DIR for p in out.iterdir()):
        raise AdaptError(f"--out {out} is not empty; choose a new or empty folder")


def _fingerprint(options: AdaptOptions) -> str:
    return json.dumps(options.fingerprint(), sort_keys=True)


def _prepare_work(options: AdaptOptions) -> Path:
    work = options.out / WORK_DIR
    try:
        atomic_write_bytes(work / "options.json", _fingerprint(options).encode())
    except OSError as exc:
        raise AdaptError(f"cannot write to --out {options.out}: {exc.strerror or exc}") from exc
    return work


def _load_base(model_dir: Path) -> Predictor:
    try:
        return Predictor.from_dir(model_dir, device="cpu")
    except Exception as exc:  # noqa: BLE001 - any loader failure is an unusable --model
        raise AdaptError(f"cannot load the base model in {model_dir}: {exc}") from exc


def _features(base: Predictor, site: SiteData, options: AdaptOptions, work: Path, device: torch.device, progress):
    model = base.model.to(device)
    try:
        site_features = extract(model, site.samples, site.label_ids, base.config.preprocessing, work / "cache",
                                options.views, options.seed, device, options.batch_size, progress, "site",
                                segmenter=base.segmenter)
        source = (source_features(base, options, work / "cache", device, progress)
                  if options.source_data is not None else None)
    finally:
        base.model.to("cpu")
    return _in_memory(site_features), _in_memory(source) if source is not None else None


def source_features(base: Predictor, options: AdaptOptions, folder: Path, device: torch.device,
                    progress=None) -> FeatureSet:
    """The mixed-in images of the base model's own data (``options.source_data``), cached under ``folder``.

    ``base.model`` must already be on ``device``. Also what bench_site_shift refits candidates with.
    """
    samples = source_samples(options.source_data, base.labels, options.source_per_class, options.seed)
    if not samples:
        raise DataError(f"--source-data {options.source_data}: no usable training images")
    index = {name: i for i, name in enumerate(base.labels)}
    ids = np.array([index[s.label] for s in samples])
    return extract(base.model, samples, ids, base.config.preprocessing, folder, options.source_view_count,
                   options.seed, device, options.batch_size, progress, "source", segmenter=base.segmenter)


def _in_memory(features: FeatureSet) -> FeatureSet:
    return FeatureSet(tuple(np.asarray(v) for v in features.views), features.labels, features.descriptors)


# ---------------------------------------------------------------- candidates

def method_settings(options: AdaptOptions) -> dict:
    """The keyword arguments every METHOD_FUNCTIONS entry takes (each ignores what it does not use)."""
    return {"l2sp": options.l2sp, "epochs": options.epochs, "lr": options.lr, "batch_size": options.batch_size,
            "seed": options.seed, "start_from": options.finetune_start, "source_per_epoch": options.source_per_epoch,
            "max_steps": options.max_steps}


def _candidates(base, site_features, source_features, site, folds, options, work, progress) -> list[Candidate]:
    candidates = [base_candidate(base.model, site_features, base.config.temperature)]
    for name in options.methods:
        saved = work / f"oof-{name}.npz"
        if saved.is_file():
            candidates.append(_load_candidate(saved, name, site.label_ids, folds))
            log.info("%s: out-of-fold results reused from the interrupted run", name)
            continue
        candidate = out_of_fold(name, base.model, site_features, folds, site.present, method_settings(options),
                                source_features, progress)
        _save_candidate(saved, candidate)
        log.info("%s: out-of-fold macro-F1 %.3f, log-loss %.3f (%.1f s)", name,
                 candidate.macro_f1(site.label_ids, base.labels), candidate.log_loss(site.label_ids), candidate.seconds)
        candidates.append(candidate)
    return candidates


def _save_candidate(path: Path, candidate: Candidate) -> None:
    import io

    buffer = io.BytesIO()
    np.savez(buffer, logits=candidate.logits, seconds=candidate.seconds)
    atomic_write_bytes(path, buffer.getvalue())


def _load_candidate(path: Path, name: str, labels: np.ndarray, folds: np.ndarray) -> Candidate:
    from .selection import _calibrated

    with np.load(path) as saved:
        return _calibrated(name, saved["logits"], labels, folds, float(saved["seconds"]))


def _final_model(base: Predictor, site: SiteData, site_features, source_features, chosen: Candidate, options,
                 progress):
    ood = site_ood(base.ood.to("cpu"), site_features.descriptors, site_features.labels, site.present)
    if chosen.name == "base":
        return base.model, base.config.temperature, ood
    fit = METHOD_FUNCTIONS[chosen.name]
    def report(phase: str, done: float, total: float, **details) -> None:
        progress("fitting the final model", done, total, **details)

    model = fit(base.model, site_features, site.present, source=source_features, progress=report,
                **method_settings(options))
    return model, chosen.temperature, ood


# ---------------------------------------------------------------- record and card

def _record(options, command, base, site, folds, candidates, chosen, site_features, kept: dict | None) -> dict:
    names = base.labels
    labels = site.label_ids
    columns = _report_columns(site)
    before_candidate = candidates[0]
    flags_before, flags_after = out_of_fold_ood(base.ood.to("cpu"), site_features, folds, site.present,
                                                base.config.ood.threshold)
    before = summary.evaluation(site.samples, before_candidate.probabilities, flags_before, names, columns, {})
    after = summary.evaluation(site.samples, chosen.probabilities, flags_after, names, columns, {})
    intervals = {
        key: summary.bootstrap_intervals(labels, c.probabilities, site.groups, names, options.bootstrap, options.seed)
        for key, c in (("before", before_candidate), ("after", chosen))
    }
    present_names = [names[i] for i in site.present]
    absent = [n for n in names if n not in present_names]
    return {
        "kind": "site adaptation",
        "command": command,
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "base": _base_record(base, options.model),
        "site": {"data": Path(options.data).name, "manifest_sha256": site.manifest_sha256, "images": len(site.samples),
                 "counts": site.counts, "label_mapping": site.mapping, "set_aside_test_rows": site.set_aside},
        "options": options.record(),
        "folds": options.folds,
        "method": chosen.name,
        "temperature": chosen.temperature,
        "candidates": [_candidate_row(c, chosen, labels, site.groups, names, options.seed) for c in candidates],
        "before": _without_meta(before),
        "after": _without_meta(after),
        "intervals": intervals,
        "curves": {key: _curves(labels, c.probabilities, names)
                   for key, c in (("before", before_candidate), ("after", chosen))},
        "retention": kept,
        "warnings": summary.warnings_for(after, intervals["after"], present_names, absent,
                                         options.source_data is not None) + retention.warnings(kept),
    }


def _curves(labels: np.ndarray, probabilities: np.ndarray, names) -> dict:
    """ROC points per class and reliability bins, for the viewer's plots (no matplotlib there)."""
    from .. import metrics

    roc = {name: curve and {"fpr": curve["fpr"], "tpr": curve["tpr"]}
           for name, curve in metrics.roc_curves(labels, probabilities, names).items()}
    return {"roc": roc, "reliability": metrics.reliability_bins(labels, probabilities)}


def _report_columns(site: SiteData) -> list[str]:
    columns = []
    for column in (site.samples[0].extras if site.samples else {}):
        values = {s.extras.get(column, "") for s in site.samples}
        if 1 < len(values) <= REPORT_COLUMNS_MAX_VALUES and column.lower() not in ("path", "label", "split", "group"):
            columns.append(column)
    return columns


def _candidate_row(candidate: Candidate, chosen: Candidate, labels, groups, names, seed: int) -> dict:
    from .. import metrics

    m = metrics.classification_metrics(labels, candidate.probabilities, names)
    beats = None if candidate is chosen else share_better(candidate, chosen, labels, groups, seed)
    return {"method": candidate.name, "macro_f1": m["macro_f1"], "macro_auc": m["macro_auc"], "ece": m["ece"],
            "accuracy": m["accuracy"], "log_loss": candidate.log_loss(labels), "seconds": candidate.seconds,
            "lower_log_loss_than_chosen": beats}


def _without_meta(results: dict) -> dict:
    return {k: v for k, v in results.items() if k not in ("meta", "failed")}


def _base_record(base: Predictor, model_dir: Path) -> dict:
    from cxrviewer.model.model_dir import settings_digest

    files = dict(base.config.files)
    weights = next((sha for name, sha in sorted(files.items()) if name.endswith(".safetensors")), "")
    return {"name": Path(model_dir).resolve().name, "files_sha256": files, "weights_sha256": weights,
            "settings_sha256": settings_digest(base.config), "architecture": base.config.architecture,
            "training_command": base.config.training.get("command", "")}


def _training_record(base: Predictor, record: dict) -> dict:
    slim = {k: v for k, v in record.items() if k not in ("before", "after", "curves")}
    slim["before"] = {k: record["before"][k] for k in summary.HEADLINE}
    slim["after"] = {k: record["after"][k] for k in summary.HEADLINE}
    return {"adaptation": slim, "base_training": {k: v for k, v in base.config.training.items() if k != "history"},
            "version": f"{record['base']['weights_sha256'][:8]}+site-{record['site']['manifest_sha256'][:8]}"}


def _card(record: dict, base_dir: Path) -> str:
    from cxrviewer.model.config import CARD_FILE

    base_card = (Path(base_dir) / CARD_FILE).read_text(encoding="utf-8") if (Path(base_dir) / CARD_FILE).is_file() else ""
    header = (f"# {record['base']['name']} adapted to a site\n\n"
              "**Research use only; not for diagnosis.** This model was adapted with `cxr adapt` to one site's "
              "labelled images. Its numbers below were measured on that site's images held out by patient group; "
              "they say nothing about other hospitals.\n\n")
    base_part = "\n\n---\n\n# The base model's card\n\n" + base_card.split("\n", 1)[-1] if base_card else ""
    return header + summary.card_section(record) + base_part
