"""Grouping, priors and filters on identities the loader read from the real DICOMs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cxrviewer.io import load_image
from cxrviewer.io.dicom_identity import NO_IDENTITY, ImageIdentity
from cxrviewer.studies import OOD_HIDE, OOD_ONLY, ListFilter, StudyIndex, choose_prior, earlier_studies, group_images
from tests.study_files import PATIENT_ID, patient_with_priors, restudied


@pytest.fixture
def reading_room(tmp_path, dicom_dir, samples_dir) -> dict[str, Path]:
    files = patient_with_priors(dicom_dir, tmp_path / "room")
    files["hip.dcm"] = shutil.copy(dicom_dir / "hip_cr_rle.dcm", tmp_path / "room" / "hip.dcm")  # another patient
    png = next(iter(sorted(samples_dir.glob("*.png"))))
    files["film.png"] = shutil.copy(png, tmp_path / "room" / "film.png")
    return files


def _index(paths) -> StudyIndex:
    index = StudyIndex()
    for path in paths:
        index.add(path, load_image(path).identity)
    return index


def test_the_real_headers_group_by_patient_study_and_series(reading_room):
    index = _index(reading_room.values())
    groups = group_images(index.items())
    assert [g.patient_id for g in groups[:1]] == [PATIENT_ID]
    patient = groups[0]
    assert patient.patient_name == "Compare^Pat"
    assert [s.date for s in patient.studies] == ["20240310", "20230105", "20210601"]  # newest first
    assert [s.accession for s in patient.studies] == ["ACC-2024", "ACC-2023", "ACC-2021"]
    assert patient.studies[0].paths() == [reading_room["current_pa.dcm"]]
    assert patient.studies[1].series[0].number == "2"
    hip = load_image(reading_room["hip.dcm"]).identity
    assert groups[1].patient_id == hip.patient_id and groups[1].studies[0].uid == hip.study_uid
    assert groups[-1].is_files and groups[-1].studies[0].paths() == [reading_room["film.png"]]


def test_the_prior_is_the_same_patients_latest_earlier_study(reading_room):
    index = _index(reading_room.values())
    current = index.identity(reading_room["current_pa.dcm"])
    assert choose_prior(current, index.items()) == reading_room["prior_pa.dcm"]
    assert [s.date for s in earlier_studies(current, index.items())] == ["20230105", "20210601"]
    prior = index.identity(reading_room["prior_pa.dcm"])
    assert choose_prior(prior, index.items()) == reading_room["older_cr.dcm"]
    assert choose_prior(index.identity(reading_room["older_cr.dcm"]), index.items()) is None  # the oldest
    assert choose_prior(index.identity(reading_room["hip.dcm"]), index.items()) is None  # nobody else's films
    assert choose_prior(NO_IDENTITY, index.items()) is None


def test_same_name_without_the_same_id_is_not_a_prior(tmp_path, dicom_dir):
    source = dicom_dir / "chest_dx_mono2_uncompressed.dcm"
    now = restudied(source, tmp_path / "a.dcm", "20240101", "A1")
    other = restudied(source, tmp_path / "b.dcm", "20200101", "B1", patient_id="SOMEONE-ELSE")
    index = _index([now, other])
    assert choose_prior(index.identity(now), index.items()) is None


def test_filters_by_class_ood_and_date():
    dated = ImageIdentity(study_uid="1.2", study_date="20230105")
    undated = ImageIdentity(study_uid="1.3")
    assert ListFilter().matches(undated, None) and not ListFilter().active
    assert ListFilter(label="covid").matches(dated, ("covid", False))
    assert not ListFilter(label="covid").matches(dated, ("normal", False))
    assert not ListFilter(label="covid").matches(dated, None)  # not read yet
    assert ListFilter(ood=OOD_ONLY).matches(dated, ("normal", True))
    assert not ListFilter(ood=OOD_ONLY).matches(dated, None)
    assert not ListFilter(ood=OOD_HIDE).matches(dated, ("normal", True))
    assert ListFilter(date_from="20230101", date_to="20231231").matches(dated, None)
    assert not ListFilter(date_from="20240101").matches(dated, None)
    assert not ListFilter(date_to="20221231").matches(dated, None)
    assert not ListFilter(date_from="20000101").matches(undated, None)
