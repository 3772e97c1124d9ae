"""The PACS core without a PACS: node descriptions, the bounded cache, and the SR read back."""

from __future__ import annotations

import os
from pathlib import Path

import highdicom as hd
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from cxrviewer.pacs.cache import InstanceCache, default_cache_dir
from cxrviewer.pacs.errors import PacsError
from cxrviewer.pacs.model_identity import ModelIdentity
from cxrviewer.pacs.node import DicomWebNode, DimseNode
from cxrviewer.pacs.results_dicom import DISCLAIMER, build_reading_sr
from cxrviewer.resources import bundled_model_dir

from .conftest import CHEST_DX

READING = {"ok": True, "probabilities": {"normal": 0.2, "pneumonia": 0.5, "covid": 0.3}, "label": "pneumonia",
           "confidence": 0.5, "uncertain": True, "ood": {"flag": False, "score": 12.5}}


def test_node_descriptions():
    node = DicomWebNode("http://pacs:8042/dicom-web/", username="u", password="secret")
    assert node.url == "http://pacs:8042/dicom-web" and "secret" not in repr(node)
    assert "tok" not in repr(DicomWebNode("https://pacs/web", token="tok"))
    dimse = DimseNode.parse("ORTHANC@127.0.0.1:4242", our_ae_title="ME")
    assert (dimse.ae_title, dimse.host, dimse.port, dimse.our_ae_title) == ("ORTHANC", "127.0.0.1", 4242, "ME")
    for bad in ("ORTHANC@host", "A\\B@host:1", "SEVENTEEN_CHARS_X@h:1", "A@h:70000"):
        with pytest.raises(PacsError):
            DimseNode.parse(bad)
    with pytest.raises(PacsError, match="not both"):
        DicomWebNode("http://pacs/web", username="u", password="p", token="t")


def test_cache_dir_is_overridable(monkeypatch, tmp_path):
    monkeypatch.setenv("CXR_PACS_CACHE", str(tmp_path / "here"))
    assert default_cache_dir() == tmp_path / "here"
    monkeypatch.delenv("CXR_PACS_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "cxrviewer" / "pacs"


def test_cache_evicts_the_least_recently_used_first(tmp_path):
    cache = InstanceCache(tmp_path / "cache", max_bytes=10_000)
    study, series = "1.2.3", "1.2.3.4"
    paths = []
    for i in range(4):
        paths.append(cache.put(study, series, f"1.2.3.4.{i}", _instance(4_000)))
        os.utime(paths[-1], (1000 + i, 1000 + i))
    assert oct(cache.root.stat().st_mode & 0o777) == "0o700"  # patient data: the user's own
    cache.get(study, series, "1.2.3.4.0")  # just used: now the newest
    cache.evict(keep=[paths[3]])
    assert [p.exists() for p in paths] == [True, False, False, True]
    with pytest.raises(PacsError, match="not a DICOM"):
        cache.path_for("../..", series, "1")


def test_sr_of_a_reading_reads_back(dicom_dir: Path):
    source = pydicom.dcmread(dicom_dir / CHEST_DX, stop_before_pixels=True)
    model = ModelIdentity.from_model_dir(bundled_model_dir())
    assert len(model.weights_sha256) == 64 and model.version != "unknown"
    sr = hd.sr.ComprehensiveSR.from_dataset(build_reading_sr(source, READING, model))
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33" and sr.StudyInstanceUID == source.StudyInstanceUID
    (group,) = sr.content.get_image_measurement_groups()
    assert group.source_images[0].referenced_sop_instance_uid == source.SOPInstanceUID
    assert sorted(m.value for m in group.get_measurements()) == [0.2, 0.3, 0.5, 12.5]
    assert group.finding_type.meaning == "pneumonia"
    comments = [i.TextValue for i in sr.ContentSequence
                if i.ValueType == "TEXT" and i.ConceptNameCodeSequence[0].CodeValue == "121106"]  # DCM Comment
    assert comments == [DISCLAIMER]
    with pytest.raises(ValueError):
        build_reading_sr(source, {**READING, "ok": False}, model)


def _instance(size: int) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.PatientID, ds.BitsAllocated, ds.PixelData = "X", 8, bytes(size)
    return ds
