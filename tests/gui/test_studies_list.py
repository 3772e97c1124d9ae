"""The grouped image list and the report's UIDs, on copies of the shared DICOMs restudied as one
patient with priors, another patient's hip film and a PNG."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from cxrviewer.gui.study_tree import ACCESSION, AI, DATE, NAME
from cxrviewer.gui.triage_panel import WORKLIST
from cxrviewer.studies import OOD_HIDE, OOD_ONLY, ListFilter
from tests.study_files import PATIENT_ID, patient_with_priors

from .conftest import AI_TIMEOUT_MS, LOAD_TIMEOUT_MS, wait_until_shown


@pytest.fixture
def reading_room(tmp_path, dicom_dir, samples_dir) -> Path:
    folder = tmp_path / "room"
    patient_with_priors(dicom_dir, folder)
    shutil.copy(dicom_dir / "hip_cr_rle.dcm", folder / "hip.dcm")
    shutil.copy(next(iter(sorted(samples_dir.glob("*.png")))), folder / "zz_film.png")
    return folder


def _grouped(qtbot, window, folder: Path) -> None:
    window.open_paths([folder], remember=False)
    panel = window.list_panel
    qtbot.waitUntil(lambda: len(panel.study_index) == 5, timeout=LOAD_TIMEOUT_MS)
    panel.regroup_now()


def _children(item):
    return [item.child(n) for n in range(item.childCount())]


def test_the_list_groups_patients_studies_and_series(qtbot, window, reading_room):
    _grouped(qtbot, window, reading_room)
    tree = window.list_panel.study_tree
    tops = [tree.topLevelItem(n) for n in range(tree.topLevelItemCount())]
    assert len(tops) == 3  # our patient, the hip's patient, the files
    patient = next(t for t in tops if PATIENT_ID in t.text(NAME))
    assert "Compare, Pat" in patient.text(NAME)  # the name, in the list only
    studies = _children(patient)
    assert [s.text(DATE) for s in studies] == ["2024-03-10", "2023-01-05", "2021-06-01"]  # newest first
    assert [s.text(ACCESSION) for s in studies] == ["ACC-2024", "ACC-2023", "ACC-2021"]
    series = _children(studies[1])
    assert series[0].text(NAME) == "Se 2" and _children(series[0])[0].text(NAME) == "prior_pa.dcm"
    assert tops[-1].text(NAME).startswith("Files") and _children(_children(tops[-1])[0])[0].text(NAME) == "zz_film.png"
    # Picking a row shows the image; the flat worklist follows.
    tree.setCurrentItem(_children(series[0])[0])
    wait_until_shown(qtbot, window, reading_room / "prior_pa.dcm")
    assert window.image_list.current_path() == reading_room / "prior_pa.dcm"
    window.list_panel.show_view(WORKLIST)
    assert window.list_panel.pages.currentWidget().isVisible()


def test_the_tree_filters_by_date_and_sorts_by_column(qtbot, window, reading_room):
    # The AI reads the whole list on open; the OOD filters below need its readings (a race before).
    with qtbot.waitSignal(window.ai.worker.batch_finished, timeout=AI_TIMEOUT_MS * 3):
        _grouped(qtbot, window, reading_room)
    tree = window.list_panel.study_tree
    everything = tree.visible_paths()
    assert len(everything) == 5
    tree.set_filter(ListFilter(date_from="20220101", date_to="20231231"))
    assert tree.visible_paths() == [reading_room / "prior_pa.dcm"]
    window.list_panel.filter_bar.date_from.setText("2024-01-01")
    window.list_panel.filter_bar.date_from.editingFinished.emit()
    assert tree.visible_paths() == [reading_room / "current_pa.dcm"]
    tree.set_filter(ListFilter(ood=OOD_HIDE))  # the bundled model flags the hip film, and only it
    assert sorted(tree.visible_paths()) == sorted(p for p in everything if p.name != "hip.dcm")
    tree.set_filter(ListFilter(ood=OOD_ONLY))
    assert tree.visible_paths() == [reading_room / "hip.dcm"]
    tree.set_filter(ListFilter())
    tree.sortByColumn(NAME, tree.header().sortIndicatorOrder().AscendingOrder)
    assert tree.topLevelItem(0).text(NAME).startswith("Compare")


def test_report_rows_carry_uids_and_identifiers_for_every_image(qtbot, confident_window, reading_room, tmp_path):
    window = confident_window
    with qtbot.waitSignal(window.ai.worker.batch_finished, timeout=AI_TIMEOUT_MS * 3):
        window.open_paths([reading_room], remember=False)
    qtbot.waitUntil(lambda: len(window.list_panel.study_index) == 5, timeout=LOAD_TIMEOUT_MS)
    plain, _ = window.exporter.export_report(tmp_path / "plain.csv")
    rows = list(csv.DictReader(plain.read_text().splitlines()))
    assert len(rows) == 5
    dicom = [r for r in rows if r["file"].endswith(".dcm")]
    assert all(r["study_instance_uid"] and r["series_instance_uid"] and r["sop_instance_uid"] for r in dicom)
    assert len({r["study_instance_uid"] for r in dicom}) == 4
    assert {r["file"]: r["accession_number"] for r in dicom}["prior_pa.dcm"] == "ACC-2023"  # links to the RIS order
    assert "patient_id" not in rows[0] and "Compare" not in plain.read_text() and PATIENT_ID not in plain.read_text()
    window.exporter.include_identifiers.setChecked(True)
    named, _ = window.exporter.export_report(tmp_path / "named.csv")
    by_file = {r["file"]: r for r in csv.DictReader(named.read_text().splitlines())}
    for name in ("current_pa.dcm", "prior_pa.dcm", "older_cr.dcm"):  # none of them was displayed but the first
        assert by_file[name]["patient_id"] == PATIENT_ID and by_file[name]["patient_name"] == "Compare, Pat"
    assert by_file["prior_pa.dcm"]["accession_number"] == "ACC-2023"
    assert by_file["hip.dcm"]["patient_id"]
    assert by_file["zz_film.png"]["path"] == str(reading_room / "zz_film.png")
    tree = window.list_panel.study_tree  # regrouped on a timer after the last file is listed
    qtbot.waitUntil(lambda: tree.topLevelItemCount() > 0 and bool(tree.topLevelItem(0).text(AI)),
                    timeout=LOAD_TIMEOUT_MS)  # the AI flag column is filled
