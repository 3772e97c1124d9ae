"""`cxr adapt` on a tiny site made of real chest X-rays (NIH images of cxr3).

The base model is the session's random simple_cnn directory (input 224), so these
tests check the workflow (labels, provenance, resume, cancel, files), not accuracy;
test_adapt_quality.py checks what adaptation buys with the real bundled model.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from cxrviewer.cli.main import main as cxr_main
from cxrviewer.model.model_dir import read_model_dir
from cxrviewer.model.predictor import Predictor
from training.adapt.options import AdaptOptions
from training.adapt.pipeline import WORK_DIR, run_adaptation
from training.adapt.site_data import make_folds

FAST = ["--epochs", "2", "--views", "2", "--folds", "2", "--bootstrap", "50", "--batch-size", "16"]
REPO = Path(__file__).resolve().parents[2]


def write_site(cxr3_dir: Path, folder: Path, per_class: int = 10, names=("healthy", "sick")) -> Path:
    """A site CSV of real NIH images with site-specific label names and a patient group column."""
    with open(cxr3_dir / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source"] in ("nih_nofinding", "nih_pneumonia")]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for site_label, label in zip(names, ("normal", "pneumonia")):
        chosen = [r for r in rows if r["label"] == label][:per_class]
        out += [{"path": str(cxr3_dir / r["path"]), "label": site_label, "group": r["group"], "source": r["source"]}
                for r in chosen]
    path = folder / "site.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(out[0]))
        writer.writeheader()
        writer.writerows(out)
    return path


@pytest.fixture(scope="module")
def site_csv(cxr3_dir, tmp_path_factory) -> Path:
    return write_site(cxr3_dir, tmp_path_factory.mktemp("site"))


def adapt(site_csv, out, model, *extra) -> int:
    return cxr_main(["adapt", "--data", str(site_csv), "--out", str(out), "--model", str(model),
                     "--label-map", "healthy=normal,sick=pneumonia", *FAST, *extra])


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if p.name.endswith((".tmp", ".partial"))]


def test_adapt_writes_a_loadable_model_with_provenance(site_csv, random_model_dir, tmp_path, capsys):
    out = tmp_path / "adapted"
    assert adapt(site_csv, out, random_model_dir) == 0
    predictor = Predictor.from_dir(out, device="cpu")
    assert predictor.labels == ("normal", "pneumonia", "covid")
    record = predictor.config.training["adaptation"]
    base_files = read_model_dir(random_model_dir).config.files
    assert record["base"]["weights_sha256"] == base_files["model.safetensors"]
    assert record["site"]["manifest_sha256"] == hashlib.sha256(site_csv.read_bytes()).hexdigest()
    assert record["site"]["counts"] == {"normal": 10, "pneumonia": 10, "covid": 0}
    assert record["site"]["label_mapping"] == {"healthy": "normal", "sick": "pneumonia"}
    assert record["method"] in {"base", "recalibrate", "linear", "finetune"}
    assert record["command"].startswith("cxr adapt --data ")
    assert [c["method"] for c in record["candidates"]] == ["base", "recalibrate", "linear", "finetune"]
    # The full before/after report uses cxr evaluate's schema, with the extra column broken down.
    report = json.loads((out / "adaptation.json").read_text())
    for side in ("before", "after"):
        assert {"macro_f1", "macro_auc", "ece", "per_class", "confusion_matrix", "breakdown"} <= set(report[side])
        assert report[side]["n"] == 20
        assert set(report[side]["breakdown"]["source"]) == {"nih_nofinding", "nih_pneumonia"}
        low, high = report["intervals"][side]["macro_f1"]
        assert 0 <= low <= report[side]["macro_f1"] <= high <= 1
    assert any("covid" in w for w in report["warnings"]) and any("rough" in w for w in report["warnings"])
    card = (out / "MODEL_CARD.md").read_text()
    assert "not for diagnosis" in card and "Before and after" in card and "| macro_f1 |" in card
    assert "What this procedure bought on a known site shift" in card  # the benchmark's evidence
    assert "| adult test: macro-F1 | adult test: COVID-19 recall |" in card  # and what adapting forgot there
    assert not (out / WORK_DIR).exists() and not leftovers(out)
    assert "adapted model written to" in capsys.readouterr().err
    assert "model.onnx" in predictor.config.files  # the viewer runs it on ONNX Runtime


def test_a_class_the_site_lacks_keeps_its_classifier_row(site_csv, random_model_dir, tmp_path):
    out = tmp_path / "linear"
    assert adapt(site_csv, out, random_model_dir, "--methods", "linear") == 0
    base = read_model_dir(random_model_dir).state_dict
    adapted = read_model_dir(out).state_dict
    covid = 2
    if read_model_dir(out).config.training["adaptation"]["method"] == "linear":
        assert torch.equal(adapted["classifier.weight"][covid], base["classifier.weight"][covid])
        assert not torch.equal(adapted["classifier.weight"][0], base["classifier.weight"][0])
    # Frozen part (up to the OOD tap) is untouched whatever was chosen.
    for name, tensor in base.items():
        if name.startswith(("stages.0.", "stages.1.", "stages.2.")):
            assert torch.equal(adapted[name], tensor), name


def test_unknown_labels_are_refused_before_any_work(site_csv, random_model_dir, tmp_path, capsys):
    out = tmp_path / "never"
    code = cxr_main(["adapt", "--data", str(site_csv), "--out", str(out), "--model", str(random_model_dir), *FAST])
    assert code == 2
    err = capsys.readouterr().err
    assert "healthy" in err and "sick" in err and "normal, pneumonia, covid" in err
    assert not out.exists()
    code = cxr_main(["adapt", "--data", str(site_csv), "--out", str(out), "--model", str(random_model_dir),
                     "--label-map", "healthy=normal,sick=effusion", *FAST])
    assert code == 2 and "effusion" in capsys.readouterr().err and not out.exists()


def test_too_few_images_of_a_class_is_refused(cxr3_dir, random_model_dir, tmp_path, capsys):
    site = write_site(cxr3_dir, tmp_path / "few", per_class=2)
    assert adapt(site, tmp_path / "out", random_model_dir) == 2
    assert "too few images" in capsys.readouterr().err


def test_cancel_leaves_no_model_and_resume_finishes(site_csv, random_model_dir, tmp_path, caplog):
    out = tmp_path / "resumable"
    options = AdaptOptions(data=site_csv, out=out, model=random_model_dir, folds=2, views=2, epochs=2,
                           bootstrap=50, batch_size=16, label_map=(("healthy", "normal"), ("sick", "pneumonia")))

    def cancel_at_finetune(phase, done, total, **details):
        if phase == "cross-validating finetune":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_adaptation(options, progress=cancel_at_finetune)
    assert not (out / "model.json").exists() and not (out / "model.safetensors").exists()
    assert not leftovers(out)
    assert sorted(p.name for p in (out / WORK_DIR).glob("oof-*")) == ["oof-linear.npz", "oof-recalibrate.npz"]
    # Without --resume the unfinished run is not overwritten.
    assert adapt(site_csv, out, random_model_dir) == 2
    caplog.set_level("INFO", logger="training.adapt")
    assert adapt(site_csv, out, random_model_dir, "--resume") == 0
    assert "recalibrate: out-of-fold results reused" in caplog.text
    Predictor.from_dir(out, device="cpu")
    # A finished model directory is never overwritten.
    assert adapt(site_csv, out, random_model_dir, "--resume") == 2


def test_sigterm_cancels_the_command_cleanly(site_csv, random_model_dir, tmp_path):
    out = tmp_path / "terminated"
    command = [sys.executable, "-m", "training.adapt.cli", "--data", str(site_csv), "--out", str(out),
               "--model", str(random_model_dir), "--label-map", "healthy=normal,sick=pneumonia", *FAST,
               "--epochs", "200", "--progress", "json"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                          cwd=REPO) as process:
        for line in process.stdout:
            if json.loads(line).get("phase", "").startswith("cross-validating finetune"):
                break
        process.send_signal(signal.SIGTERM)
        rest, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    events = [json.loads(line) for line in rest.splitlines()]
    assert events[-1]["event"] == "error" and "cancelled" in events[-1]["message"]
    assert not (out / "model.json").exists() and not leftovers(out)


def test_folds_keep_groups_whole_and_spread_classes():
    groups = [f"p{i // 3}" for i in range(90)]
    labels = np.array([(i // 3) % 2 for i in range(90)])
    folds = make_folds(labels, groups, 3, seed=1)
    for group in set(groups):
        assert len({folds[i] for i, g in enumerate(groups) if g == group}) == 1
    for fold in range(3):
        assert set(labels[folds == fold]) == {0, 1}
        assert 24 <= np.sum(folds == fold) <= 36
    assert not np.array_equal(folds, make_folds(labels, groups, 3, seed=2))  # the seed matters


def test_progress_gives_one_overall_fraction_and_the_time_left(monkeypatch, capsys):
    from training.adapt import cli

    clock = iter([0.0, 10.0, 20.0, 30.0])
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    printer = cli.ProgressPrinter(as_json=True)  # started at t=0
    printer("reading images", 1, 1)  # t=10: the first phase of the plan done
    printer("cross-validating finetune", 0.5, 1)  # t=20
    printer("reading images", 0, 1)  # t=30: an earlier phase never moves the bar back
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    weights = dict(cli.PHASE_WEIGHTS)
    names = [name for name, _ in cli.PHASE_WEIGHTS]
    first = weights["reading images"]
    halfway = sum(weights[n] for n in names[:names.index("cross-validating finetune")]) + weights[
        "cross-validating finetune"] / 2
    assert sum(weights.values()) == pytest.approx(1.0)
    assert [e["overall"] for e in events] == pytest.approx([first, halfway, halfway], abs=1e-4)
    assert events[0]["eta_s"] == pytest.approx(10 * (1 - first) / first, abs=0.1)  # 10 s for the first share
    assert events[1]["eta_s"] == pytest.approx(20 * (1 - halfway) / halfway, abs=0.1)


def test_finetuning_the_tap_stage_keeps_the_base_ood_descriptor(site_csv, random_model_dir, tmp_path):
    """Fine-tuning retrains the OOD tap stage; the adapted model's OOD descriptor must stay the base's."""
    from cxrviewer.io import load_image
    from cxrviewer.model.export import export_model_dir
    from training.adapt.features import extract, split_stage
    from training.adapt.methods import finetune
    from training.adapt.site_data import load_site_data

    base = Predictor.from_dir(random_model_dir, device="cpu")
    site = load_site_data(site_csv, base.labels, (("healthy", "normal"), ("sick", "pneumonia")))
    features = extract(base.model, site.samples, site.label_ids, base.config.preprocessing, tmp_path / "cache", 2, 0,
                       torch.device("cpu"), 16)
    adapted = finetune(base.model, features, site.present, epochs=3, lr=1e-2, l2sp=0.0)
    tap = base.model.ood_tap
    assert split_stage(base.model) == tap
    assert any(not torch.equal(a, b) for a, b in zip(adapted.stages[tap].parameters(),
                                                     base.model.stages[tap].parameters()))
    out = tmp_path / "adapted"
    export_model_dir(out, adapted, base.labels, base.config.preprocessing, 1.0, base.ood.to("cpu"),
                     base.config.ood.threshold, training={}, card="test")
    reloaded = Predictor.from_dir(out, device="cpu")
    assert reloaded.model.ood_stage is not None
    images = [load_image(s.path) for s in site.samples[:4]]
    batch = torch.from_numpy(np.stack([base.preprocess(image).array for image in images]))
    with torch.inference_mode():
        logits_before, before = base.model.forward_with_features(batch)
        logits_after, after = reloaded.model.forward_with_features(batch)
    torch.testing.assert_close(after, before)
    assert not torch.allclose(logits_after, logits_before)  # the classifier did move
    assert [p.ood_score for p in reloaded.predict(images)] == pytest.approx([p.ood_score for p in base.predict(images)],
                                                                             rel=1e-5)
    # The ONNX graph of the adapted model keeps the base's descriptor too.
    from cxrviewer.model.onnx_export import export_classifier
    from cxrviewer.model.onnx_runtime import OnnxPredictor

    export_classifier(out)
    onnx_scores = [p.ood_score for p in OnnxPredictor.from_dir(out).predict_arrays(batch.numpy())]
    assert onnx_scores == pytest.approx([p.ood_score for p in base.predict(images)], rel=1e-4)


def test_finetuning_is_reproducible_for_a_seed(site_csv, random_model_dir, tmp_path):
    """Two refits on the same images and seed give the same weights (dropout is seeded too)."""
    from training.adapt.features import extract
    from training.adapt.methods import finetune
    from training.adapt.site_data import load_site_data

    base = Predictor.from_dir(random_model_dir, device="cpu")
    site = load_site_data(site_csv, base.labels, (("healthy", "normal"), ("sick", "pneumonia")))
    features = extract(base.model, site.samples, site.label_ids, base.config.preprocessing, tmp_path, 2, 0,
                       torch.device("cpu"), 16)
    first, second, other = (finetune(base.model, features, site.present, epochs=2, lr=1e-2, seed=seed)
                            for seed in (3, 3, 4))
    torch.testing.assert_close(first.classifier.weight, second.classifier.weight, rtol=0, atol=0)
    assert not torch.equal(first.classifier.weight, other.classifier.weight)


def test_lp_ft_starts_from_the_linear_fit_and_unknown_starts_are_refused(site_csv, random_model_dir, tmp_path):
    """finetune(start_from="linear") with a zero learning rate is the linear candidate; a bad start fails at once."""
    from training.adapt.features import extract
    from training.adapt.methods import finetune, linear_head
    from training.adapt.site_data import load_site_data

    base = Predictor.from_dir(random_model_dir, device="cpu")
    site = load_site_data(site_csv, base.labels, (("healthy", "normal"), ("sick", "pneumonia")))
    features = extract(base.model, site.samples, site.label_ids, base.config.preprocessing, tmp_path, 2, 0,
                       torch.device("cpu"), 16)
    linear = linear_head(base.model, features, site.present, l2sp=1e-3)
    frozen = finetune(base.model, features, site.present, epochs=1, lr=1e-12, l2sp=1e-3, start_from="linear")
    from_base = finetune(base.model, features, site.present, epochs=1, lr=1e-12, l2sp=1e-3)
    torch.testing.assert_close(frozen.classifier.weight, linear.classifier.weight, rtol=0, atol=1e-6)
    assert not torch.allclose(from_base.classifier.weight, linear.classifier.weight)
    with pytest.raises(ValueError, match="finetune-start"):
        AdaptOptions(data=site_csv, out=tmp_path / "x", model=random_model_dir, finetune_start="head")


def test_the_most_capable_candidate_is_kept_unless_a_simpler_one_is_clearly_better():
    from training.adapt.selection import CLEARLY_BETTER, Candidate, choose, share_better

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 30)
    groups = [f"patient{i // 2}" for i in range(60)]  # two films per patient, resampled together

    def candidate(name: str, p_true: np.ndarray) -> Candidate:
        probs = np.stack([p_true, 1 - p_true], 1)
        probs[labels == 1] = probs[labels == 1][:, ::-1]
        return Candidate(name, np.zeros((60, 2), np.float32), probs, 1.0, 0.0)

    finetune = candidate("finetune", rng.uniform(0.6, 0.95, 60))
    noisy = candidate("linear", np.clip(finetune.probabilities[np.arange(60), labels] + rng.normal(0.004, 0.05, 60),
                                        0.05, 0.99))
    # Slightly lower log-loss on these 60 films, but not in 95 % of resamples: the fine-tune stays.
    assert noisy.log_loss(labels) < finetune.log_loss(labels)
    assert share_better(noisy, finetune, labels, groups) < CLEARLY_BETTER
    assert choose([noisy, finetune], labels, groups) is finetune
    # Better on nearly every patient: the simpler one wins, whatever order the candidates come in.
    clearly = candidate("linear", np.clip(finetune.probabilities[np.arange(60), labels] + 0.04, 0.05, 0.99))
    assert share_better(clearly, finetune, labels, groups) >= CLEARLY_BETTER
    assert choose([finetune, clearly], labels, groups) is clearly
    assert choose([clearly, finetune], labels, groups) is clearly
    # The same resamples for the same seed, so a resumed run chooses as the first did.
    assert share_better(noisy, finetune, labels, groups, seed=3) == share_better(noisy, finetune, labels, groups, seed=3)

def test_each_finetuning_epoch_mixes_a_fresh_balanced_subset_of_the_source_images(site_csv, random_model_dir,
                                                                                   tmp_path):
    """A large source pool at the cost of a small one: per epoch, ``source_per_epoch`` of it, half the site's weight."""
    from training.adapt.features import FeatureSet, extract
    from training.adapt.methods import _Mix
    from training.adapt.site_data import load_site_data

    base = Predictor.from_dir(random_model_dir, device="cpu")
    site = load_site_data(site_csv, base.labels, (("healthy", "normal"), ("sick", "pneumonia")))
    features = extract(base.model, site.samples, site.label_ids, base.config.preprocessing, tmp_path / "cache", 2, 0,
                       torch.device("cpu"), 16)
    # The same films stand in for the base model's data: one view, three classes
    source = FeatureSet(features.views[:1], np.arange(len(features)) % 3, features.descriptors)
    mix = _Mix(features, source, share=0.5, per_epoch=9)
    rng = np.random.default_rng(0)
    first, second = mix.epoch(rng), mix.epoch(rng)
    for epoch in (first, second):
        assert len(epoch) == len(features) + 9 == mix.size
        site_part, source_part = epoch.weights[:len(features)], epoch.weights[len(features):]
        assert site_part.sum() == pytest.approx(len(features))
        assert source_part.sum() == pytest.approx(0.5 * len(features))  # half the site's total weight
        assert set(epoch.views_of[len(features):]) == {1} and set(epoch.views_of[:len(features)]) == {2}
        maps = epoch.maps(np.arange(len(epoch)), np.zeros(len(epoch), dtype=int))
        np.testing.assert_array_equal(maps[len(features):], np.asarray(source.views[0])[epoch.row_of[len(features):]])
    assert not np.array_equal(first.row_of[len(features):], second.row_of[len(features):])  # a fresh subset
    everything = _Mix(features, source, share=0.5, per_epoch=None).epoch(rng)
    assert len(everything) == 2 * len(features)


def test_max_steps_shortens_finetuning_on_a_large_site(site_csv, random_model_dir, tmp_path):
    """80 epochs are for small sites; a large one stops at max_steps (whole epochs), a small one is untouched."""
    from training.adapt.features import extract
    from training.adapt.methods import finetune
    from training.adapt.site_data import load_site_data

    base = Predictor.from_dir(random_model_dir, device="cpu")
    site = load_site_data(site_csv, base.labels, (("healthy", "normal"), ("sick", "pneumonia")))
    features = extract(base.model, site.samples, site.label_ids, base.config.preprocessing, tmp_path / "cache", 1, 0,
                       torch.device("cpu"), 16)
    for max_steps, expected in ((7, "2/2"), (100, "3/3")):  # 20 images, batch 8: 3 steps an epoch
        seen = []
        finetune(base.model, features, site.present, epochs=3, batch_size=8, max_steps=max_steps,
                 progress=lambda *a, **k: seen.append(k["epoch"]))
        assert seen[-1] == expected
