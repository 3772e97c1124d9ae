"""`cxr adapt` with the real bundled model: the adapted model still refuses non-chest films.

The OOD detector gains centres for the site's classes; these tests guard that this
never opens the door to hip or dental radiographs, and that the adapted directory
reads real DICOMs end to end through the Predictor the viewer uses. With cxr3 (the
bundled model's own data) as --source-data, the card measures what was kept of it.
"""

from __future__ import annotations

import csv
import json

import pytest

from cxrviewer.cli.main import main as cxr_main
from cxrviewer.io import load_image
from cxrviewer.model.predictor import Predictor
from cxrviewer.resources import bundled_model_dir
from training.adapt.retention import FORGETTING_MACRO_F1, FORGETTING_RECALL
from tests.training.test_adapt import write_site

NON_CHEST = ("hip_cr_j2k_lossless.dcm", "hip_cr_rle.dcm", "dental_cr_mono1_jpeg_lossless_modality_lut.dcm")
CHESTS = ("chest_dx_mono2_uncompressed.dcm", "chest_cr_mono1_j2k_lossy.dcm")


@pytest.fixture(scope="module")
def adapted(cxr3_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    site = write_site(cxr3_dir, root, per_class=12)
    out = root / "adapted"
    code = cxr_main(["adapt", "--data", str(site), "--out", str(out), "--label-map", "healthy=normal,sick=pneumonia",
                     "--methods", "recalibrate,linear", "--views", "2", "--folds", "2", "--bootstrap", "50",
                     "--source-data", str(cxr3_dir / "labels.csv"), "--source-per-class", "8"])
    assert code == 0
    return out


def test_non_chest_films_stay_flagged_and_chests_do_not(adapted, dicom_dir):
    base = Predictor.from_dir(bundled_model_dir(), device="cpu")
    new = Predictor.from_dir(adapted, device="cpu")
    assert new.ood.class_means.shape[0] > base.ood.class_means.shape[0]  # site centres added
    assert new.config.ood.threshold == base.config.ood.threshold
    for name in NON_CHEST:
        image = load_image(dicom_dir / name)
        assert new.predict([image])[0].ood_flag, name
    for name in CHESTS:
        image = load_image(dicom_dir / name)
        assert not new.predict([image])[0].ood_flag, name


def test_the_adapted_card_keeps_the_base_card_and_states_the_site(adapted):
    card = (adapted / "MODEL_CARD.md").read_text()
    assert card.startswith("# cxr3-default adapted to a site")
    assert "# The base model's card" in card and "Known failure modes" in card
    assert "| nih_nofinding |" in card  # the site's extra column, broken down


def test_what_was_kept_of_the_base_models_data_is_measured_on_its_held_out_rows(adapted, cxr3_dir):
    report = json.loads((adapted / "adaptation.json").read_text())
    kept = report["retention"]
    assert kept["split"] == "val" and kept["images"] == 3 * kept["per_class_at_most"]
    assert set(kept["before"]["recall"]) == {"normal", "pneumonia", "covid"}
    # The bundled model on its own val images: if labels, temperature or maps were mixed up, this falls.
    assert kept["before"]["macro_f1"] > 0.85 and kept["before"]["macro_auc"] > 0.95
    assert 0 <= kept["after"]["macro_f1"] <= 1
    with open(cxr3_dir / "labels.csv", newline="") as fh:
        val = sum(r["split"] == "val" for r in csv.DictReader(fh))
    assert kept["images"] < val  # a balanced sample, not the whole split
    card = (adapted / "MODEL_CARD.md").read_text()
    assert "### What was kept of the base model's data" in card and "| recall covid |" in card
    # The card warns exactly when the drop crosses its bars.
    fell = kept["before"]["macro_f1"] - kept["after"]["macro_f1"] > FORGETTING_MACRO_F1
    assert fell == any("macro-F1 fell by" in w for w in report["warnings"])
    lost = [n for n, r in kept["before"]["recall"].items() if r - kept["after"]["recall"][n] > FORGETTING_RECALL]
    assert bool(lost) == any("Sensitivity on the base model's own" in w for w in report["warnings"])
