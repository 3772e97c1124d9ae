"""The CAM losses (training/cam_loss.py) and the masks they score against (training/lung_masks.py).

On real chest X-rays with drawn lung and infection masks (../shared/data/lungs or the
fixture copy): the closed-form map is the Grad-CAM the viewer draws, the masks land on
the model grid where the drawn ones do, the loss moves a map into the lungs, and
`cxr train --cam-lung-weight` trains, cached and not.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from cxrviewer.cli.main import main as cxr_main
from cxrviewer.io import load_image
from cxrviewer.model.architectures import build_model
from cxrviewer.model.cam import compute_cam
from cxrviewer.model.preprocess import PreprocessConfig, preprocess
from tests.data_root import data_root
from training.cam_loss import all_class_maps, cam_losses, mass_inside
from training.data import Sample, read_csv_manifest
from training.lung_masks import INFECTION, LUNG, on_model_grid, training_masks

LUNGS = data_root() / "lungs"


def _rows() -> list[dict]:
    with open(LUNGS / "labels.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _with_infection() -> dict:
    for row in _rows():
        if row["infection_mask"] and cv2.imread(str(LUNGS / row["infection_mask"]), cv2.IMREAD_GRAYSCALE).max() > 127:
            return row
    raise AssertionError("no row with a drawn infected region")


def _drawn(row: dict, key: str, shape) -> np.ndarray:
    mask = cv2.imread(str(LUNGS / row[key]), cv2.IMREAD_GRAYSCALE) > 127
    return cv2.resize(mask.view(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST).astype(bool)


def _sample(row: dict, drawn: bool = True) -> Sample:
    extras = {"lung_mask": str(LUNGS / row["lung_mask"])} if drawn else {}
    if row["infection_mask"]:
        extras["infection_mask"] = str(LUNGS / row["infection_mask"])
    return Sample(path=LUNGS / row["path"], label=row["label"], extras=extras)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("efficientnet_lite0", 3, init=True).eval()


def test_the_closed_form_map_is_the_grad_cam_the_viewer_draws(model, one_torch_thread):
    row = _with_infection()
    x = torch.from_numpy(preprocess(load_image(LUNGS / row["path"]), PreprocessConfig()).array)[None]
    for target in range(3):
        drawn = compute_cam(model, x, model.cam_target_layer, "gradcam", targets=[target]).maps[0]
        with torch.no_grad():
            _, activation = model(x, with_activation=True)
            ours = all_class_maps(activation, model.classifier.weight)[:, target]
        ours = ours - ours.amin()
        ours = ours / (ours.amax() + 1e-7)
        ours = torch.nn.functional.interpolate(ours[None], size=(224, 224), mode="bilinear", align_corners=False)[0, 0]
        assert np.abs(ours.numpy() - drawn).max() < 1e-3, target


def test_stored_masks_land_on_the_model_grid_where_the_drawn_masks_do():
    row = _with_infection()
    image = load_image(LUNGS / row["path"])
    for config in (PreprocessConfig(), PreprocessConfig(input_size=160, crop_border=False)):
        geometry = preprocess(image, config).geometry
        stored = training_masks([_sample(row)], None, _no_cache())[str(LUNGS / row["path"])]
        shares = on_model_grid(stored, geometry, config.input_size // 4)
        for channel, key in ((LUNG, "lung_mask"), (INFECTION, "infection_mask")):
            full = _drawn(row, key, image.pixels.shape).view(np.uint8) * np.uint8(255)
            exact = geometry.map_from_source(full).astype(np.float32) / 255
            exact = cv2.resize(exact, (config.input_size // 4,) * 2, interpolation=cv2.INTER_AREA)
            assert shares[channel].sum() > 0
            assert np.abs(shares[channel] - exact).mean() < 0.02, (config, key)


def _no_cache():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / "masks.npz"


def test_masks_come_from_drawn_columns_else_the_lung_model_and_are_cached(tmp_path, monkeypatch):
    from cxrviewer.model.lung_model import LungSegmenter
    from cxrviewer.resources import bundled_lung_model_dir

    rows = [r for r in _rows() if r["split"] == "test"][:3]
    samples = [_sample(rows[0]), _sample(rows[1], drawn=False), _sample(rows[2], drawn=False)]
    segmenter = LungSegmenter.from_dir(bundled_lung_model_dir())
    cache = tmp_path / "masks.npz"
    masks = training_masks(samples, segmenter, cache)
    for sample, row in zip(samples, rows):
        lungs = masks[str(sample.path)][LUNG] > 127
        drawn = cv2.resize((cv2.imread(str(LUNGS / row["lung_mask"]), 0) > 127).view(np.uint8), lungs.shape[::-1],
                           interpolation=cv2.INTER_AREA) > 0
        iou = (lungs & drawn).sum() / (lungs | drawn).sum()
        assert iou > (0.97 if sample is samples[0] else 0.75), (row["path"], iou)
    monkeypatch.setattr(segmenter, "segment", lambda image: pytest.fail("segmented again instead of reading the cache"))
    again = training_masks(samples, segmenter, cache)
    for key in masks:
        np.testing.assert_array_equal(again[key], masks[key])


def test_the_loss_moves_the_map_into_the_lungs(model, one_torch_thread):
    row = _with_infection()
    image = load_image(LUNGS / row["path"])
    pre = preprocess(image, PreprocessConfig())
    stored = training_masks([_sample(row)], None, _no_cache())[str(LUNGS / row["path"])]
    masks = torch.from_numpy(on_model_grid(stored, pre.geometry, 56))[None]
    trained = build_model("efficientnet_lite0", 3, init=True)
    trained.load_state_dict(model.state_dict())
    trained.eval()
    with torch.no_grad():
        frozen = trained.forward_stages(torch.from_numpy(pre.array)[None], 0, 7)
    params = [p for s in list(trained.stages)[7:] for p in s.parameters()] + list(trained.classifier.parameters())
    optimiser = torch.optim.Adam(params, lr=1e-3)
    target = torch.tensor([2])
    scores = []
    for _ in range(15):
        _, activation = trained(frozen, start=7, with_activation=True)
        losses = cam_losses(activation, trained.classifier.weight, target, masks)
        scores.append((1 - losses["outside_lungs"].item(), 1 - losses["outside_infection"].item()))
        optimiser.zero_grad()
        (losses["outside_lungs"] + losses["outside_infection"]).backward()
        optimiser.step()
    assert scores[-1][0] > scores[0][0] + 0.1 and scores[-1][1] > scores[0][1] + 0.05, scores
    # what the loss scores is what cam_quality measures: the map's mass inside the drawn lungs
    _, activation = trained(frozen, start=7, with_activation=True)
    maps = all_class_maps(activation, trained.classifier.weight)[:, 2].detach()
    inside = float(mass_inside(maps, masks[:, LUNG]))
    full = compute_cam(trained, torch.from_numpy(pre.array)[None], trained.cam_target_layer, targets=[2]).maps[0]
    lungs_on_grid = pre.geometry.map_from_source(_drawn(row, "lung_mask", image.pixels.shape).view(np.uint8)) > 0
    assert inside == pytest.approx(full[lungs_on_grid].sum() / full.sum(), abs=0.03)


@pytest.fixture(scope="module")
def lungs_csv(tmp_path_factory):
    """A few rows of the lungs set per class and split, paths made absolute."""
    rows, picked = _rows(), []
    for split, per_class in (("train", 6), ("val", 2)):
        for label in ("normal", "pneumonia", "covid"):
            picked += [r for r in rows if r["split"] == split and r["label"] == label][:per_class]
    path = tmp_path_factory.mktemp("lungs") / "labels.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "label", "split", "lung_mask", "infection_mask"])
        writer.writeheader()
        for r in picked:
            writer.writerow({k: (str(LUNGS / r[k]) if k.endswith(("path", "mask")) and r[k] else r[k])
                             for k in writer.fieldnames})
    return path


def test_mask_columns_resolve_like_image_paths(lungs_csv):
    samples, _ = read_csv_manifest(lungs_csv)
    assert all(s.extras["lung_mask"].endswith(".png") and (LUNGS / "lung_masks").as_posix() in s.extras["lung_mask"]
               for s in samples)


@pytest.mark.parametrize("cached", [False, True], ids=["images", "cached-features"])
def test_cxr_train_with_the_cam_losses(lungs_csv, tmp_path, cached):
    out = tmp_path / "run"
    extra = ["--freeze-stages", "2", "--cache-features", "--cache-views", "2"] if cached else []
    code = cxr_main(["train", "--data", str(lungs_csv), "--out", str(out), "--preset", "tiny", "--img-size", "64",
                     "--epochs", "2", "--no-progress", "--labels", "normal,pneumonia,covid",
                     "--cam-lung-weight", "1", "--cam-infection-weight", "0.5", *extra])
    assert code == 0
    config = json.loads((out / "model" / "model.json").read_text())
    history = config["training"]["history"]
    assert all(0 < h["train_cam_outside_lungs"] < 1 and 0 <= h["train_cam_outside_infection"] < 1 for h in history)
    assert config["training"]["options"]["cam_lung_weight"] == 1.0
    if cached:
        assert sorted(p.name for p in (out / "cache").rglob("view*-masks.npy")) == ["view0-masks.npy", "view1-masks.npy"]


def test_negative_cam_weights_are_refused(lungs_csv, tmp_path):
    code = cxr_main(["train", "--data", str(lungs_csv), "--out", str(tmp_path / "r"), "--preset", "tiny",
                     "--cam-lung-weight", "-1", "--no-progress"])
    assert code == 2


def test_mask_manifest_links_drawn_masks_to_the_training_rows(tmp_path, full_data):
    """The full sets: the fixture copies of cxr3 and lungs share no film."""
    from training.lungs.mask_manifest import MaskManifestError, main, merged_rows

    cxr3 = full_data / "cxr3" / "labels.csv"
    fields, rows = merged_rows(cxr3, LUNGS / "labels.csv", "cxr3_path")
    assert fields[-2:] == ["lung_mask", "infection_mask"]
    linked = [r for r in rows if r["lung_mask"]]
    assert linked and all(Path(r["lung_mask"]).is_file() and Path(r["path"]).is_file() for r in linked[:50])
    lungs = {r["cxr3_path"]: r for r in _rows()}
    for row in linked[:50]:  # the masks drawn on that very film (a resized copy in lungs/)
        original = lungs[Path(row["path"]).relative_to(cxr3.parent.resolve()).as_posix()]
        assert Path(row["lung_mask"]).name == Path(original["lung_mask"]).name
    assert main(["--images", str(cxr3), "--masks", str(LUNGS / "labels.csv"), "--out", str(tmp_path / "m.csv")]) == 0
    samples, _ = read_csv_manifest(tmp_path / "m.csv")
    assert sum(bool(s.extras.get("lung_mask")) for s in samples) == len(linked)
    # a masks row that puts a film in another split is refused
    moved = tmp_path / "masks.csv"
    text = (LUNGS / "labels.csv").read_text().splitlines()
    header, first = text[0].split(","), text[1].split(",")
    first[header.index("split")] = "test" if first[header.index("split")] != "test" else "train"
    moved.write_text("\n".join([text[0], ",".join(first)]) + "\n")
    (tmp_path / "lung_masks").mkdir()
    with pytest.raises(MaskManifestError, match="split"):
        merged_rows(cxr3, moved, "cxr3_path")
