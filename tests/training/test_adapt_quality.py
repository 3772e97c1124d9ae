"""`cxr adapt` with the real bundled model: the adapted model still refuses non-chest films.

The OOD detector gains centres for the site's classes; these tests guard that this
never opens the door to hip or dental radiographs, and that the adapted directory
reads real DICOMs end to end through the Predictor the viewer uses.
"""

from __future__ import annotations

import pytest

from cxrviewer.cli.main import main as cxr_main
from cxrviewer.io import load_image
from cxrviewer.model.predictor import Predictor
from cxrviewer.resources import bundled_model_dir
from tests.training.test_adapt import write_site

NON_CHEST = ("hip_cr_j2k_lossless.dcm", "hip_cr_rle.dcm", "dental_cr_mono1_jpeg_lossless_modality_lut.dcm")
CHESTS = ("chest_dx_mono2_uncompressed.dcm", "chest_cr_mono1_j2k_lossy.dcm")


@pytest.fixture(scope="module")
def adapted(cxr3_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("quality")
    site = write_site(cxr3_dir, root, per_class=12)
    out = root / "adapted"
    code = cxr_main(["adapt", "--data", str(site), "--out", str(out), "--label-map", "healthy=normal,sick=pneumonia",
                     "--methods", "recalibrate,linear", "--views", "2", "--folds", "2", "--bootstrap", "50"])
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
